"""Load benchmark of the archive's authorization web service (``make bench-auth``; not a test).

``POST /orthanc-auth/tokens/validate`` (issue 7) under load from a second process, against
gunicorn with 2 workers on the regional database of ``bench/access_scale.py``, side by side with
a trivial Django view served by the same processes and middleware in the same run: the
framework's floor (``bench/auth_floor_urls.py``). In order:

1. the seeded database of ``--scale`` (never seeded here: ``bench/access_scale.py --seed-only``
   does it); an archive of the seed's busiest establishment, with the web service's callback
   credentials, holding that establishment's studies; viewer tokens bound to one study each for
   practitioners of its care team and with a grant, and unbound ones for practitioners without
   any right (about 10 % of the requests, refused). The archive is kept; the tokens too, in
   ``var/bench/``, while they live;
2. an imitation of the archive on 127.0.0.1 that tells the portal the parent study of a series
   or an instance, asked once per resource (the portal caches the answer);
3. gunicorn, then ``wrk`` at full throughput, then an open-loop generator at a fixed rate (500
   requests/s), each on the floor and on ``tokens/validate``, rotating through realistic bodies:
   the study level by Orthanc id, series and instances by DICOM identifier;
4. the figures side by side, the targets of issue 7 (validate at least half the floor's
   throughput; p99 under 20 ms at 500 requests/s), and the trail: one ``archive`` AccessEvent
   per validation answered, and a chain still consistent. Exits non-zero when one fails.

Run: ``make bench-auth BENCH_ARGS="--scale 0.01"``. ``--profile 500`` tells instead where the
time of that many validations goes, in this process (``bench/auth_load_profile.py``).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The bench's settings (production password hashers, the floor's URL) here and in gunicorn.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.auth_load_settings"
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("PORTAL_TEST_DATABASE", "bench_access")
# A Redis database of its own for the cache: a test run's flushes never empty the bench's.
os.environ.setdefault("PORTAL_TEST_REDIS_SLOT", "6")
# The service logs each refusal at INFO: under load, only warnings (as gunicorn below).
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.access_trail import check_chain_sample  # noqa: E402
from bench.auth_floor_urls import CALLBACK_FLOOR_PATH, FLOOR_PATH  # noqa: E402
from bench.auth_load_http import (  # noqa: E402
    CpuClock,
    FakeArchive,
    Figures,
    Gunicorn,
    cpu_measured,
    run_open_loop,
    run_wrk,
    warm_up,
)
from bench.auth_load_profile import VALIDATE_PATH, profile  # noqa: E402
from bench.auth_load_region import (  # noqa: E402
    CALLBACK_PASSWORD,
    CALLBACK_USERNAME,
    Bodies,
    bench_archive,
    bodies_for,
    chain_heads,
    database_url,
    token_pool,
    trail_since,
    use_seeded_database,
)

THROUGHPUT_SHARE = 0.5
# Who spends the machine's CPU during a run (bench.auth_load_http.CpuClock).
CPU_KINDS = {
    "gunicorn": "gunicorn",
    "postgres": "PostgreSQL",
    "wrk": "wrk",
    "banc": "ce banc",
    "autres": "autres",
}
P99_TARGET_MS = 20.0


def log(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


# --- The report -----------------------------------------------------------------------------


# The columns of the tables: the service, the floor of the portal's handler (the target's
# reference), the floor of the callback's handler, which serves the service.
COLUMNS = {
    VALIDATE_PATH: "tokens/validate",
    FLOOR_PATH: "vue triviale",
    CALLBACK_FLOOR_PATH: "triviale/rappel",
}


def table(title: str, figures: dict[str, Figures]) -> None:
    log(title)
    columns = [figures[path] for path in COLUMNS]
    log(f"  {'':<30}" + "".join(f"{label:>17}" for label in COLUMNS.values()))
    rows: list[tuple[str, list[str]]] = [
        ("requêtes/s", [f"{f.per_second:,.0f}" for f in columns]),
        ("requêtes", [f"{f.requests:,}" for f in columns]),
        ("p50 (ms)", [f"{f.p50:.2f}" for f in columns]),
        ("p99 (ms)", [f"{f.p99:.2f}" for f in columns]),
        ("p99.9 (ms)", [f"{f.p999:.2f}" for f in columns]),
        ("réponses non 2xx", [f"{f.non2xx}" for f in columns]),
        ("erreurs de socket", [f"{f.socket_errors}" for f in columns]),
        ("non envoyées (serveur débordé)", [f"{f.abandoned}" for f in columns]),
        (
            "accordées / refusées",
            [f"{columns[0].granted}/{columns[0].answered_2xx - columns[0].granted}", "-", "-"],
        ),
    ]
    for kind, label in CPU_KINDS.items():
        rows.append(
            (f"CPU/requête, {label} (ms)", [f"{f.cpu_ms.get(kind, 0):.2f}" for f in columns])
        )
    for label, values in rows:
        log(f"  {label:<30}" + "".join(f"{value.replace(',', ' '):>17}" for value in values))


@dataclass
class Run:
    """What one run measured, with gunicorn up."""

    answers: Counter[str]  # the warm-up's
    warmed: dict[str, Figures]
    full: dict[str, list[Figures]]
    rated: dict[str, Figures]
    asked_under_load: int
    load_before: str
    load_after: str


def measure(
    args: argparse.Namespace, bodies: Bodies, archive: FakeArchive, authorization: str
) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as work:
        bodies_file = Path(work) / "bodies.jsonl"
        bodies_file.write_text("\n".join(bodies.lines) + "\n")
        load_before = load()
        with Gunicorn(args, database_url=database_url(), log_dir=Path(work)) as server:
            log(
                f"gunicorn : {args.workers} workers {args.worker_class}"
                + (f" × {args.threads} fils" if args.worker_class == "gthread" else "")
                + f" sur {server.base} ; charge de la machine {load_before}"
            )
            started = time.perf_counter()
            answers = warm_up(server.port, VALIDATE_PATH, bodies.lines, authorization)
            log(
                f"Tour de chauffe : {sum(answers.values())} corps distincts en "
                f"{time.perf_counter() - started:.1f} s ("
                + ", ".join(f"{k} {v}" for k, v in answers.items())
                + f") ; questions à l'archive : {archive.asked}"
            )
            asked_after_warm_up = archive.asked
            warm_wrk = argparse.Namespace(**{**vars(args), "duration": 3})
            warmed = {
                path: run_wrk(warm_wrk, server.port, path, bodies_file, authorization)
                for path in COLUMNS
            }
            # The floor first, then the service, then again in the other order: the machine
            # is shared, and the best of two runs of each is the figure least disturbed by it.
            full: dict[str, list[Figures]] = {path: [] for path in COLUMNS}
            clock = CpuClock(server_pid=server.pid)
            order = (FLOOR_PATH, CALLBACK_FLOOR_PATH, VALIDATE_PATH)
            for path in (*order, *reversed(order)):
                full[path].append(
                    cpu_measured(
                        clock,
                        lambda path=path: run_wrk(
                            args, server.port, path, bodies_file, authorization
                        ),
                    )
                )
            rated = {
                path: cpu_measured(
                    clock,
                    lambda path=path: run_open_loop(
                        args, server.port, path, bodies.lines, authorization
                    ),
                )
                for path in COLUMNS
            }
            asked_under_load = archive.asked - asked_after_warm_up
    return Run(answers, warmed, full, rated, asked_under_load, load_before, load())


def report(args: argparse.Namespace, run: Run, *, head_before: dict[int, int]) -> list[str]:
    """The figures side by side and the targets; the labels of the targets missed."""
    full, rated, answers = run.full, run.rated, run.answers
    best = {path: max(runs, key=lambda f: f.per_second) for path, runs in full.items()}
    log("")
    table(
        f"Débit maximal (wrk -t{args.wrk_threads} -c{args.connections}, {args.duration} s, "
        "meilleure de deux passes) :",
        best,
    )
    passes = ", ".join(
        f"{COLUMNS[path]} {runs[0].per_second:.0f} et {runs[1].per_second:.0f}"
        for path, runs in full.items()
    )
    log(f"  (passes, requêtes/s : {passes})")
    log("")
    table(
        f"À {args.rate:g} requêtes/s imposées (boucle ouverte, {args.rate_duration} s mesurées "
        f"après {args.rate_warm_up:g} s au même débit, latence depuis l'heure prévue) :",
        rated,
    )
    log(f"Charge de la machine (1, 5, 15 min) : {run.load_before} avant, {run.load_after} après")
    log(f"Questions à l'archive pendant la charge : {run.asked_under_load} (le cache y répond)")

    # Every validation answered 2xx, by wrk's runs, the open loop and the warm-up.
    loads = [run.warmed[VALIDATE_PATH], *full[VALIDATE_PATH], rated[VALIDATE_PATH]]
    validations = answers["granted"] + answers["refused"] + sum(f.answered_2xx for f in loads)
    granted_answers = answers["granted"] + sum(f.granted for f in loads)
    # wrk stops counting with requests in flight, which the server still answers and traces.
    in_flight = (1 + len(full[VALIDATE_PATH])) * args.connections
    archive_rows, granted_rows, every_row, broken = trail_since(head_before)
    sampled = check_chain_sample(count=1000)
    log("")
    log(
        f"Traces : {archive_rows} nouvelles sur le canal archive ({granted_rows} accès "
        f"accordés), {every_row - archive_rows} sur d'autres canaux ; réponses 2xx de "
        f"tokens/validate comptées : {validations} ({granted_answers} accordées)"
    )

    validate, floor = best[VALIDATE_PATH], best[FLOOR_PATH]
    ratio = validate.per_second / floor.per_second if floor.per_second else 0.0
    callback_floor = best[CALLBACK_FLOOR_PATH].per_second
    log(
        f"Part du débit de la vue triviale : {ratio:.0%} sur le gestionnaire du portail (la "
        f"cible), {validate.per_second / callback_floor if callback_floor else 0:.0%} sur "
        "celui du rappel"
    )
    everything = [*run.warmed.values(), *(f for runs in full.values() for f in runs)]
    everything += rated.values()
    errors = sum(f.non2xx + f.socket_errors for f in everything)
    errors += sum(n for answer, n in answers.items() if answer.startswith("HTTP"))
    at_rate = rated[VALIDATE_PATH]
    checks = [
        (
            f"tokens/validate ≥ {THROUGHPUT_SHARE:.0%} du débit de la vue triviale",
            f"{ratio:.0%}",
            ratio >= THROUGHPUT_SHARE,
        ),
        (
            f"p99 < {P99_TARGET_MS:g} ms à {args.rate:g} requêtes/s",
            f"{at_rate.p99:.2f} ms",
            at_rate.p99 < P99_TARGET_MS
            and at_rate.per_second >= 0.95 * args.rate
            and not at_rate.abandoned,
        ),
        ("aucune erreur (non 2xx, socket)", f"{errors}", errors == 0),
        (
            "une trace archive par validation répondue",
            f"{archive_rows} / {validations}",
            validations <= archive_rows <= validations + in_flight,
        ),
        (
            "les accès accordés tracés accordés",
            f"{granted_rows} / {granted_answers}",
            granted_answers <= granted_rows <= granted_answers + in_flight,
        ),
        (
            "chaîne d'audit cohérente (nouveaux maillons, échantillon)",
            f"{broken} + {len(sampled)}",
            broken == 0 and not sampled,
        ),
    ]
    log("")
    log("Objectifs (issue 7) :")
    for label, figure, ok in checks:
        log(f"  {label:<60}{figure:>16}  {'conforme' if ok else 'NON CONFORME'}")
    return [label for label, _figure, ok in checks if not ok]


def main() -> int:
    args = arguments()
    if shutil.which("wrk") is None and not args.profile:
        raise SystemExit("wrk est absent : make system-deps (ou apt-get install wrk).")
    if connection.vendor != "postgresql":
        raise SystemExit("Ce banc d'essai demande PostgreSQL (PORTAL_ENV=test).")

    database = use_seeded_database(args.scale, log=log)
    rng = random.Random(args.random_seed)  # noqa: S311 - a sample, not a secret
    credentials = base64.b64encode(f"{CALLBACK_USERNAME}:{CALLBACK_PASSWORD}".encode())
    authorization = "Basic " + credentials.decode()
    with FakeArchive() as archive:
        source, held = bench_archive(archive_url=archive.url)
        pool = token_pool(
            source=source,
            database=database,
            count=args.tokens,
            refused_share=args.refused_share,
            seed=args.random_seed,
            log=log,
        )
        bodies = bodies_for(
            source=source,
            pool=pool,
            count=max(args.bodies, len(pool) * args.burst),
            rng=rng,
            burst=args.burst,
        )
        archive.parents, archive.lookups = bodies.parents, bodies.lookups
        kinds = Counter(t.kind for t in pool)
        log(
            f"Base {database} ; archive {source.pk} ({source.establishment}) : "
            f"{held:,} examens ; ".replace(",", " ")
            + ", ".join(f"{n} jetons {kind}" for kind, n in kinds.items())
            + f" ; {len(bodies.lines)} corps ("
            + ", ".join(f"{level} {n}" for level, n in bodies.levels.items())
            + (f" ; par rafales de {args.burst} du même jeton" if args.burst > 1 else "")
            + ")"
        )
        if args.profile:
            profile(bodies, authorization, args.profile, log=log)
            return 0
        head_before = chain_heads()
        run = measure(args, bodies, archive, authorization)
    failed = report(args, run, head_before=head_before)
    log("RÉSULTAT : " + ("conforme" if not failed else "NON CONFORME : " + " ; ".join(failed)))
    return 0 if not failed else 1


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="la région semée (1)")
    parser.add_argument("--duration", type=int, default=15, help="secondes de wrk par vue (15)")
    parser.add_argument("--connections", type=int, default=16, help="connexions de wrk (16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="fils de wrk (2)")
    parser.add_argument("--rate", type=float, default=500, help="requêtes/s imposées (500)")
    parser.add_argument("--rate-duration", type=int, default=20, help="secondes à débit fixe")
    parser.add_argument(
        "--rate-warm-up",
        type=float,
        default=3,
        help="secondes à débit fixe avant la mesure, répondues et tracées mais non mesurées (3)",
    )
    parser.add_argument(
        "--rate-connections", type=int, default=64, help="connexions au plus à débit fixe (64)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers de gunicorn (2)")
    parser.add_argument(
        "--worker-class", choices=("gthread", "sync"), default="gthread", help="(gthread)"
    )
    parser.add_argument("--threads", type=int, default=2, help="fils par worker gthread (2)")
    parser.add_argument("--port", type=int, default=0, help="port de gunicorn (libre)")
    parser.add_argument("--tokens", type=int, default=300, help="jetons de visionneuse (300)")
    parser.add_argument(
        "--refused-share", type=float, default=0.1, help="part des requêtes refusées (0,1)"
    )
    parser.add_argument("--bodies", type=int, default=3000, help="corps du cycle (3000)")
    parser.add_argument(
        "--burst",
        type=int,
        default=1,
        help="requêtes d'un même jeton à la suite, comme une visionneuse qui charge un examen "
        "(1 : chacun son tour)",
    )
    parser.add_argument("--random-seed", type=int, default=7)
    parser.add_argument(
        "--profile", type=int, default=0, help="profiler N validations dans ce processus"
    )
    args = parser.parse_args()
    if args.scale <= 0 or args.scale > 10:
        parser.error("--scale doit être compris entre 0 (exclu) et 10")
    if not 0 <= args.refused_share < 1:
        parser.error("--refused-share doit être compris entre 0 et 1 (exclu)")
    positive = (args.duration, args.rate_duration, args.connections, args.tokens, args.rate)
    if min(*positive, args.burst) <= 0:
        parser.error("durées, débit, connexions, jetons et rafales : strictement positifs")
    return args


if __name__ == "__main__":
    sys.exit(main())
