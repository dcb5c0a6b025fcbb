"""Benchmark of the access decision at regional scale (``make bench-access``; not a test).

Seeds once a PostgreSQL database with the region of issue 6 (bench/access_seed.py): 1,000,000
patients, 3,000,000 studies, 10,000 practitioners, 200,000 grants and a hash chain of
20,000,000 access events. Then it measures, each call writing its trace as in production
(autocommit, synchronous commit):

1. one decision (``access.decide``) on a mix of care-team hits, grants, break-the-glass,
   patients looking at their own studies, oppositions and refusals;
2. a page of 50 studies (``access.decision.decide_many``), a hospital worklist or a city
   practitioner's patients;

and prints latency percentiles (p50, p90, p99, max), the queries per call and whether the
targets of issue 6 hold: one decision with its trace in at most 3 queries and 10 ms at p99, a
50-study page in at most 50 ms at p99. It exits non-zero when one does not.

The seeded database is reused while it matches (``--reseed`` starts over); another
``--scale`` gets its own database (``--scale 0.01``: a quick run, seeded in seconds). Run:
``PORTAL_ENV=test PORTAL_TEST_DATABASE=bench_access .venv/bin/python bench/access_scale.py``.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("PORTAL_TEST_DATABASE", "bench_access")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from access.decision import Decision, Target, decide, decide_many  # noqa: E402
from access.models import AccessGrant, BreakGlassAccess, Opposition  # noqa: E402
from audit.models import Action, Channel  # noqa: E402
from audit.partitions import ensure_current_partitions  # noqa: E402
from bench.access_region import Shape  # noqa: E402
from bench.access_seed import counts_match, seed, seeded_shape, seeded_timings  # noqa: E402
from bench.access_trail import check_chain_sample  # noqa: E402
from imaging.models import ImagingStudy, Patient  # noqa: E402
from portal.models import User  # noqa: E402
from practitioners.models import Accreditation, PracticeSite, Practitioner  # noqa: E402

# The server's own database, from which the bench's database is created or dropped.
MAINTENANCE_DB = settings.DATABASES["default"]["NAME"]
ONE_QUERIES = 3
ONE_P99_MS = 10.0
PAGE_P99_MS = 50.0
PAGE_SIZE = 50

# The mix of single decisions (weights): what a day of the portal and the archive asks.
MIX = {
    "care_team": 40,
    "grant": 25,
    "no_right": 15,
    "patient_level": 7,
    "patient_self": 5,
    "opposition": 4,
    "break_glass": 4,
}


def log(message: str) -> None:
    print(message, flush=True)


# --- The database ---------------------------------------------------------------------------


def database_name(scale: float) -> str:
    base = settings.DATABASES["default"]["TEST"]["NAME"]
    return base if scale == 1 else f"{base}_s{scale:g}".replace(".", "_").replace("-", "_")


def maintenance(name: str, statement: str) -> bool:
    """Run ``statement`` on the server's maintenance database; True if ``name`` exists."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=MAINTENANCE_DB,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        autocommit=True,
    ) as admin:
        if statement:
            admin.execute(statement)
        row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def drop_database(name: str) -> None:
    connection.close()
    maintenance(name, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(name: str) -> None:
    """Create the database when missing and migrate it (never serialised: it is huge)."""
    connection.close()
    settings.DATABASES["default"]["NAME"] = MAINTENANCE_DB
    connection.settings_dict["NAME"] = MAINTENANCE_DB
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)


def ready_database(shape: Shape, *, reseed: bool) -> None:
    name = database_name(shape.scale)
    if not name.startswith("bench"):
        # The bench drops and refills its database: never a test or a real one by mistake.
        raise SystemExit(f"PORTAL_TEST_DATABASE doit commencer par « bench » (ici « {name} »).")
    if reseed:
        drop_database(name)
    existed = maintenance(name, "")
    prepare(name)
    recorded = seeded_shape()
    problems = counts_match(shape) if recorded == shape.as_key() else ["pas de graine complète"]
    if not problems:
        timings = seeded_timings()
        completed_at = timings.pop("completed_at")
        log(
            f"Base {name} réutilisée (graine du {completed_at}, faite en "
            f"{sum(timings.values()):.0f} s ; --reseed pour la refaire)."
        )
        return
    if existed:
        log(f"Base {name} à refaire ({'; '.join(problems)}).")
        drop_database(name)
        prepare(name)
    log(f"Graine de la base {name} :")
    started = time.perf_counter()
    seed(shape, log=log)
    log(f"  {'total':<28}{time.perf_counter() - started:8.1f} s")


# --- What the bench asks -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str
    user_id: int
    patient_id: int
    study_id: int | None


@dataclass(frozen=True)
class Page:
    kind: str
    user_id: int
    study_ids: tuple[int, ...]


class Region:
    """What the cases are drawn from, read from the seeded database (outside the timings)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        accredited = Practitioner.objects.filter(
            accreditations__in=Accreditation.objects.active()
        ).values_list("user_id", flat=True)
        self.accredited = set(accredited)
        self.teams: dict[int, list[int]] = defaultdict(list)
        for establishment, user_id in PracticeSite.objects.filter(
            status=PracticeSite.Status.ACTIVE, establishment__isnull=False
        ).values_list("establishment_id", "practitioner__user_id"):
            if user_id in self.accredited:
                self.teams[establishment].append(user_id)
        on_site = {user for team in self.teams.values() for user in team}
        self.city = sorted(self.accredited - on_site)
        self.grants: dict[int, list[int]] = defaultdict(list)
        for user_id, patient_id in AccessGrant.objects.active().values_list(
            "practitioner__user_id", "patient_id"
        ):
            if user_id in self.accredited:
                self.grants[user_id].append(patient_id)
        self.grant_pairs = [(u, p) for u, patients in self.grants.items() for p in patients]
        self.opposed = list(Opposition.objects.active().values_list("patient_id", flat=True))
        self.patient_users = list(
            Patient.objects.filter(user__isnull=False).values_list("user_id", "id")[:20_000]
        )
        last = ImagingStudy.objects.order_by("-id").values_list("id", flat=True).first() or 0
        picked = rng.sample(range(1, last + 1), min(last, 40_000))
        self.studies = list(
            ImagingStudy.objects.filter(id__in=picked).values_list(
                "id", "patient_id", "establishment_id"
            )
        )
        self.by_establishment: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for study, patient, establishment in self.studies:
            self.by_establishment[establishment].append((study, patient))
        self.emergencies = self._open_break_glass(count=60)

    def _open_break_glass(self, *, count: int) -> list[tuple[int, int]]:
        """Fresh emergency accesses (the seeded ones have expired): (user, patient)."""
        now = timezone.now()
        opposed = set(self.opposed)
        pairs: list[tuple[int, int]] = []
        while len(pairs) < count:
            user_id = self.rng.choice(self.city)
            patient = self.rng.choice(self.studies)[1]
            if patient not in opposed:
                pairs.append((user_id, patient))
        practitioners = dict(
            Practitioner.objects.filter(user_id__in=[u for u, _ in pairs]).values_list(
                "user_id", "id"
            )
        )
        BreakGlassAccess.objects.bulk_create(
            BreakGlassAccess(
                user_id=user_id,
                practitioner_id=practitioners[user_id],
                patient_id=patient,
                category=BreakGlassAccess.Category.LIFE_THREATENING,
                justification="Banc d'essai : patient inconscient admis aux urgences.",
                opened_at=now,
                expires_at=now + datetime.timedelta(seconds=settings.BREAK_GLASS_DURATION_S),
            )
            for user_id, patient in pairs
        )
        return pairs

    def studies_of(self, patients: Sequence[int]) -> dict[int, list[int]]:
        found: dict[int, list[int]] = defaultdict(list)
        for patient, study in ImagingStudy.objects.filter(patient_id__in=set(patients)).values_list(
            "patient_id", "id"
        ):
            found[patient].append(study)
        return found

    def cases(self, count: int) -> list[Case]:
        rng = self.rng
        kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
        wanted: list[tuple[str, int, int, bool]] = []  # kind, user, patient, study wanted
        fixed: list[Case] = []
        for kind in kinds:
            if kind == "care_team":
                study, patient, establishment = rng.choice(self.studies)
                while not self.teams.get(establishment):
                    study, patient, establishment = rng.choice(self.studies)
                fixed.append(Case(kind, rng.choice(self.teams[establishment]), patient, study))
            elif kind == "no_right":
                study, patient, _establishment = rng.choice(self.studies)
                fixed.append(Case(kind, rng.choice(self.city), patient, study))
            elif kind == "patient_level":
                _study, patient, establishment = rng.choice(self.studies)
                team = self.teams.get(establishment)
                user = rng.choice(team) if team and rng.random() < 0.5 else rng.choice(self.city)
                fixed.append(Case(kind, user, patient, None))
            elif kind == "grant":
                user, patient = rng.choice(self.grant_pairs)
                wanted.append((kind, user, patient, True))
            elif kind == "patient_self":
                user, patient = rng.choice(self.patient_users)
                wanted.append((kind, user, patient, True))
            elif kind == "opposition":
                wanted.append((kind, rng.choice(self.city), rng.choice(self.opposed), True))
            else:
                user, patient = rng.choice(self.emergencies)
                wanted.append((kind, user, patient, True))
        studies = self.studies_of([patient for _k, _u, patient, _s in wanted])
        for kind, user, patient, _study in wanted:
            fixed.append(Case(kind, user, patient, rng.choice(studies[patient])))
        rng.shuffle(fixed)
        return fixed

    def pages(self, count: int) -> list[Page]:
        rng = self.rng
        pages = []
        followers = [user for user, patients in self.grants.items() if len(patients) >= 3]
        for number in range(count):
            if number % 2 == 0:
                # A hospital worklist: mostly its own studies, some from elsewhere in the region.
                establishment = rng.choice([e for e, team in self.teams.items() if team])
                user = rng.choice(self.teams[establishment])
                own = self.by_establishment[establishment]
                studies = [study for study, _p in rng.sample(own, min(len(own), 35))]
                while len(studies) < PAGE_SIZE:
                    studies.append(rng.choice(self.studies)[0])
                pages.append(Page("liste hospitalière", user, tuple(studies)))
            else:
                # A city practitioner's patients: the granted ones' studies, then others.
                user = rng.choice(followers)
                patients = self.grants[user]
                of = self.studies_of(patients)
                studies = [study for patient in patients for study in of[patient]][:30]
                while len(studies) < PAGE_SIZE:
                    studies.append(rng.choice(self.studies)[0])
                pages.append(Page("patients d'un médecin de ville", user, tuple(studies)))
        return pages


class Objects:
    """The model instances the calls take, loaded once (as a view would have them)."""

    def __init__(self, cases: list[Case], pages: list[Page]) -> None:
        users = {case.user_id for case in cases} | {page.user_id for page in pages}
        studies = {case.study_id for case in cases if case.study_id} | {
            study for page in pages for study in page.study_ids
        }
        self.users = User.objects.in_bulk(users)
        self.studies = ImagingStudy.objects.in_bulk(studies)
        patients = {case.patient_id for case in cases} | {
            study.patient_id for study in self.studies.values() if study.patient_id
        }
        self.patients = Patient.objects.in_bulk(patients)

    def one(self, case: Case) -> Callable[[], Decision]:
        user = self.users[case.user_id]
        patient = self.patients[case.patient_id]
        study = self.studies[case.study_id] if case.study_id else None
        return lambda: decide(
            user=user, patient=patient, study=study, action=Action.READ, channel=Channel.WEB
        )

    def page(self, page: Page) -> Callable[[], list[Decision]]:
        user = self.users[page.user_id]
        targets = [
            Target(self.patients[self.studies[s].patient_id or 0], self.studies[s])
            for s in page.study_ids
        ]
        return lambda: decide_many(
            user=user, targets=targets, action=Action.LIST, channel=Channel.WEB
        )


# --- Measuring -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def timed(calls: Sequence[Callable[[], Any]]) -> tuple[list[float], list[Any]]:
    latencies, results = [], []
    for call in calls:
        started = time.perf_counter()
        result = call()
        latencies.append((time.perf_counter() - started) * 1000)
        results.append(result)
    return latencies, results


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class Count:
    statements: int  # SELECT, INSERT…
    transaction: int  # BEGIN, COMMIT…: round trips too
    sql_ms: float  # waiting for the statements' answers (BEGIN and COMMIT not included)
    cpu_ms: float  # CPU time of this process: Python (ORM, rules), whatever the machine's load
    total_ms: float


def queries_per_call(calls: Sequence[Callable[[], Any]]) -> list[Count]:
    counts = []
    waited: list[float] = []

    def clock(execute: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            waited.append(time.perf_counter() - started)

    for call in calls:
        waited.clear()
        started, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as context, connection.execute_wrapper(clock):
            call()
        total = (time.perf_counter() - started) * 1000
        control = [q for q in context.captured_queries if q["sql"].startswith(TRANSACTION_CONTROL)]
        counts.append(
            Count(
                statements=len(context.captured_queries) - len(control),
                transaction=len(control),
                sql_ms=sum(waited) * 1000,
                cpu_ms=(time.process_time() - cpu) * 1000,
                total_ms=total,
            )
        )
    return counts


def describe(counts: Sequence[Count]) -> str:
    statements = max(c.statements for c in counts)
    control = max(c.transaction for c in counts)
    return f"{statements}+{control}" if control else f"{statements}"


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def row(label: str, latencies: Sequence[float], queries: str) -> str:
    figures = (
        "".join(f"{percentile(latencies, q):>9.2f}" for q in (0.5, 0.9, 0.99))
        + f"{max(latencies):>9.2f}"
    )
    return f"{label:<36}{len(latencies):>7}{figures}{queries:>10}"


def explain(call: Callable[[], Any], *, full: bool) -> None:
    """EXPLAIN ANALYZE of each query of one call; the INSERT is rolled back."""
    with CaptureQueriesContext(connection) as context:
        call()
    statements = [
        q for q in context.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)
    ]
    for number, query in enumerate(statements, start=1):
        sql = query["sql"]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [line for (line,) in cursor.fetchall()]
            transaction.set_rollback(True)
        summary = [
            line.strip()
            for line in plan
            if line.startswith(("Planning Time", "Trigger", "Execution Time"))
        ]
        log(f"  requête {number} ({sql.split()[0]}) : " + ", ".join(summary))
        if full:
            for line in plan:
                log("      " + line)


def concurrent(calls: Sequence[Callable[[], Any]], *, clients: int) -> None:
    """The same decisions from ``clients`` threads at once, each with its own connection.

    The trail's chain head is locked by every insert until its commit, so concurrent decisions
    queue there; the threads also share this process's interpreter lock, so the figure is a
    floor for a portal served by several processes, not its capacity."""
    shares = [list(calls[i::clients]) for i in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def work(number: int) -> None:
        try:
            connection.ensure_connection()
            start.wait()
            latencies[number].extend(timed(shares[number])[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = [value for values in latencies for value in values]
    log("")
    log(
        f"{clients} clients simultanés : {len(merged)} décisions en {elapsed:.1f} s, "
        f"{len(merged) / elapsed:.0f} décisions/s"
    )
    log(row("  une décision", merged, ""))


def sizes() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        (total,) = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree('audit_accessevent')"
        )
        (trail,) = cursor.fetchone()
        figures = [("base entière", total), ("traces d'accès (partitions et index)", trail)]
        for table in (
            "imaging_imagingstudy",
            "imaging_patient",
            "imaging_patientidentifier",
            "access_accessgrant",
        ):
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
            figures.append((table, cursor.fetchone()[0]))
    return figures


def measure(args: argparse.Namespace, shape: Shape) -> bool:
    rng = random.Random(args.random_seed)  # noqa: S311 - a sample, not a secret
    load_before = load()
    ensure_current_partitions()
    started = time.perf_counter()
    region = Region(rng)
    warm = min(200, args.decisions)
    cases = region.cases(args.decisions + warm + args.sample)
    pages = region.pages(args.pages + 5 + max(1, args.sample // 20))
    objects = Objects(cases, pages)
    log(
        f"Échantillon tiré en {time.perf_counter() - started:.1f} s : "
        f"{len(cases)} décisions, {len(pages)} pages"
    )

    singles = [objects.one(case) for case in cases]
    page_calls = [objects.page(page) for page in pages]
    timed(singles[:warm])
    timed(page_calls[:5])
    one_ms, decisions = timed(singles[warm : warm + args.decisions])
    page_ms, _ = timed(page_calls[5 : 5 + args.pages])
    one_queries = queries_per_call(singles[warm + args.decisions :])
    page_queries = queries_per_call(page_calls[5 + args.pages :])

    by_rule: dict[str, list[float]] = defaultdict(list)
    for latency, decision in zip(one_ms, decisions, strict=True):
        by_rule[str(decision.reason)].append(latency)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for page, latency in zip(pages[5 : 5 + args.pages], page_ms, strict=True):
        by_kind[page.kind].append(latency)

    log("")
    header = f"{'(millisecondes)':<36}{'appels':>7}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}"
    log(header + f"{'requêtes':>10}")
    one_q = max(c.statements + c.transaction for c in one_queries)
    log(row("Une décision (decide)", one_ms, describe(one_queries)))
    for rule, values in sorted(by_rule.items(), key=lambda item: -len(item[1])):
        log(row(f"  règle {rule}", values, ""))
    log(row(f"Page de {PAGE_SIZE} examens (decide_many)", page_ms, describe(page_queries)))
    for kind, values in by_kind.items():
        log(row(f"  {kind}", values, ""))
    log(
        f"(requêtes : le maximum sur {len(one_queries)} décisions et {len(page_queries)} pages "
        "comptées à part, écriture de la trace comprise, « +2 » = BEGIN et COMMIT)"
    )
    for label, counted in (("une décision", one_queries), ("une page", page_queries)):
        total = percentile([c.total_ms for c in counted], 0.5)
        sql = percentile([c.sql_ms for c in counted], 0.5)
        cpu = percentile([c.cpu_ms for c in counted], 0.5)
        log(
            f"Médianes, {label} : {total:.2f} ms, dont {sql:.2f} ms d'attente des requêtes ; "
            f"CPU de Python (ORM, règles) : {cpu:.2f} ms"
        )
    log(f"Charge de la machine (1, 5, 15 min) : {load_before} avant, {load()} après")

    log("")
    log("EXPLAIN ANALYZE d'une décision (autorisation) puis d'une page :")
    grant_case = next(case for case in cases if case.kind == "grant")
    explain(objects.one(grant_case), full=args.explain)
    explain(page_calls[-1], full=args.explain)
    if args.clients:
        concurrent(singles[warm : warm + args.decisions], clients=args.clients)

    one_p99, page_p99 = percentile(one_ms, 0.99), percentile(page_ms, 0.99)
    checks = [
        (
            f"une décision, trace comprise : ≤ {ONE_QUERIES} requêtes",
            f"{one_q}",
            one_q <= ONE_QUERIES,
        ),
        (f"une décision : p99 ≤ {ONE_P99_MS:g} ms", f"{one_p99:.2f} ms", one_p99 <= ONE_P99_MS),
        (
            f"une page de {PAGE_SIZE} examens : p99 ≤ {PAGE_P99_MS:g} ms",
            f"{page_p99:.2f} ms",
            page_p99 <= PAGE_P99_MS,
        ),
    ]
    log("")
    log("Objectifs (issue 6) :")
    for label, figure, ok in checks:
        log(f"  {label:<48}{figure:>12}  {'conforme' if ok else 'NON CONFORME'}")
    return all(ok for _label, _figure, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="taille de la région (1 = cible régionale)"
    )
    parser.add_argument("--reseed", action="store_true", help="refaire la graine")
    parser.add_argument("--seed-only", action="store_true", help="graine seulement, sans mesure")
    parser.add_argument("--decisions", type=int, default=2_000, help="décisions mesurées (2000)")
    parser.add_argument("--pages", type=int, help="pages de 50 examens mesurées (décisions / 20)")
    parser.add_argument(
        "--sample", type=int, default=200, help="décisions dont on compte les requêtes"
    )
    parser.add_argument("--random-seed", type=int, default=6)
    parser.add_argument("--explain", action="store_true", help="afficher les plans complets")
    parser.add_argument(
        "--clients", type=int, default=0, help="rejouer les décisions avec N clients simultanés"
    )
    args = parser.parse_args()
    if args.scale <= 0 or args.scale > 10:
        parser.error("--scale doit être compris entre 0 (exclu) et 10")
    if args.decisions < 20:
        parser.error("--decisions doit valoir au moins 20")
    args.pages = args.pages or max(10, args.decisions // 20)
    if connection.vendor != "postgresql":
        log("Ce banc d'essai demande PostgreSQL (PORTAL_ENV=test ou DATABASE_URL=postgres://…).")
        return 2

    shape = Shape.of(args.scale)
    ready_database(shape, reseed=args.reseed)
    bad = check_chain_sample(count=500)
    log(
        f"Base : {connection.settings_dict['NAME']} — {shape.patients:,} patients, "
        f"{shape.studies:,} examens, {shape.practitioners:,} professionnels, "
        f"{shape.grants:,} autorisations, {shape.events:,} traces".replace(",", " ")
    )
    log(
        "Chaîne d'audit : "
        + ("échantillon de 500 maillons cohérent" if not bad else f"INCOHÉRENTE ({bad})")
    )
    for label, size in sizes():
        log(f"  {label:<40}{size / 2**30:8.2f} Gio")
    if args.seed_only:
        return 0 if not bad else 1
    ok = measure(args, shape) and not bad
    log("RÉSULTAT : " + ("conforme" if ok else "NON CONFORME"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
