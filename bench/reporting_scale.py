"""Benchmark of the dashboards and the funder report at regional scale (``make
bench-reporting``; not a test).

On the region of ``make bench-access`` (bench/access_seed.py: 1,000,000 patients, 3,000,000
studies, 20,000,000 access events over the last year; seeded here when missing), it

1. builds the daily rollups of a quarter and the one before (``rollups_rebuild``, as the
   ``rollups --rebuild`` command does; kept for the next run, ``--rebuild`` redoes them);
2. times the regional dashboard of the quarter's last month, and one establishment's, as a
   regional administrator gets them (the page through Django's test client: form, selectors,
   SVG charts, template), then the quarter's funder report as a PDF/A;
3. times the same figures computed straight from the raw tables (studies, trail, grants,
   accreditations: ``reporting.rollups.RawFigures`` over the whole period, and the charts'
   daily series), and checks they are the rollups' figures.

It prints each time (median and max of ``--runs``), the ratios, and whether the targets of
issue 9 hold: a monthly dashboard from the rollups well under a second (at most
``DASHBOARD_S``), the quarterly PDF in a few seconds (at most ``REPORT_S``). It exits non-zero
when one does not. ``--scale 0.01`` runs on the small region in a minute.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")
os.environ.setdefault("PORTAL_TEST_DATABASE", "bench_access")
# The trail's pages log nothing per request; the report job logs its steps at INFO.
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.db.models.functions import TruncDate  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.models import AccessEvent  # noqa: E402
from bench.access_region import Shape  # noqa: E402
from bench.access_scale import ready_database  # noqa: E402
from establishments.models import Establishment  # noqa: E402
from imaging.models import ImagingStudy  # noqa: E402
from portal.models import User  # noqa: E402
from portal.roles import Role, has_second_factor  # noqa: E402
from portal.services import user_grant_group_role  # noqa: E402
from reporting.demo import indicators_create  # noqa: E402
from reporting.models import DailyRollup, RollupState  # noqa: E402
from reporting.periods import Period, period_parse  # noqa: E402
from reporting.rollups import OUTSIDE_RULES, RawFigures, day_bounds, rollups_rebuild  # noqa: E402
from reporting.selectors import MEASURES, Figures, region_figures  # noqa: E402
from reporting.services import funder_report_create  # noqa: E402

DASHBOARD_S = 1.0
REPORT_S = 10.0
ADMIN_EMAIL = "bench.pilotage@ars.bench"
# The figures compared between the rollups and the raw tables (the flows and the sets).
COMPARED = (
    "studies_produced",
    "outside_accesses",
    "practitioners_accessing",
    "portal_patients",
    "studies_shared",
)


def log(message: str) -> None:
    print(message, flush=True)


def last_complete_quarter(today: datetime.date) -> Period:
    quarter = period_parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    return quarter.preceding()


def timed(call: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Seconds of each of ``runs`` calls (after one untimed call) and the last result."""
    result = call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def rollups_ready(*, start: datetime.date, end: datetime.date, rebuild: bool) -> None:
    days = (end - start).days + 1
    present = DailyRollup.objects.filter(
        day__range=(start, end), establishment__isnull=True
    ).count()
    if present == days and not rebuild:
        log(f"Agrégats du {start:%d/%m/%Y} au {end:%d/%m/%Y} déjà construits (--rebuild : refaire)")
        return
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 15 == 0 or done == total:
            elapsed = time.perf_counter() - started
            log(f"  {done:>4}/{total} jours ({elapsed / done:.2f} s par jour)")

    log(f"Construction des agrégats du {start:%d/%m/%Y} au {end:%d/%m/%Y} ({days} jours) :")
    rows = rollups_rebuild(start=start, end=end, progress=progress)
    elapsed = time.perf_counter() - started
    state, _ = RollupState.objects.get_or_create(pk=1)
    if state.complete_until is None or state.complete_until < end:
        state.complete_until = end
        state.save(update_fields=["complete_until", "updated_at"])
    log(f"  {rows} lignes en {elapsed:.1f} s, soit {elapsed / days:.2f} s par jour")


def bench_admin() -> User:
    user, created = User.objects.get_or_create(
        email=ADMIN_EMAIL, defaults={"first_name": "Banc", "last_name": "Pilotage"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user_grant_group_role(user=user, role=Role.REGIONAL_ADMIN)
    if not has_second_factor(user):
        # Administrators must have a second factor before they reach any page.
        TOTP.activate(user, generate_totp_secret())
    return user


def page(client: Client, path: str) -> Callable[[], int]:
    def get() -> int:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} : HTTP {response.status_code}")
        return len(response.content)

    return get


def raw_figures(period: Period) -> tuple[Figures, int]:
    """The region's figures of ``period`` and its daily series, straight from the raw tables;
    the number of establishments with figures."""
    gathered = RawFigures(period.start, period.end)
    rows = gathered.gather()
    # The charts' two daily series: studies produced, outside accesses.
    list(
        ImagingStudy.objects.filter(study_date__range=(period.start, period.end))
        .values("study_date")
        .annotate(count=Count("id"))
        .values_list("study_date", "count")
    )
    start, end = day_bounds(period.start)[0], day_bounds(period.end)[1]
    list(
        AccessEvent.objects.filter(
            recorded_at__gte=start, recorded_at__lt=end, granted=True, rule__in=OUTSIDE_RULES
        )
        .annotate(day=TruncDate("recorded_at"))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    region = rows[0]
    figures = Figures(days=period.days)
    for measure in MEASURES.values():
        value = getattr(region, measure.field)
        figures.values[measure.name] = len(value) if isinstance(value, list) else value
    return figures, len(rows) - 1


def summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):8.3f} s {max(seconds):8.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="taille de la région (1)")
    parser.add_argument("--quarter", help="trimestre du rapport (le dernier complet)")
    parser.add_argument("--runs", type=int, default=5, help="mesures de chaque page (5)")
    parser.add_argument("--rebuild", action="store_true", help="reconstruire les agrégats")
    args = parser.parse_args()
    if args.scale <= 0 or args.scale > 10:
        parser.error("--scale doit être compris entre 0 (exclu) et 10")
    if args.runs < 1:
        parser.error("--runs doit valoir au moins 1")
    if connection.vendor != "postgresql":
        log("Ce banc d'essai demande PostgreSQL (PORTAL_ENV=test ou DATABASE_URL=postgres://…).")
        return 2
    try:
        quarter = (
            period_parse(args.quarter)
            if args.quarter
            else last_complete_quarter(timezone.localdate())
        )
    except ValueError as error:
        parser.error(str(error))
    if "-Q" not in quarter.code:
        parser.error("--quarter attend un trimestre, par exemple 2026-Q3")

    shape = Shape.of(args.scale)
    ready_database(shape, reseed=False)
    log(
        f"Base : {connection.settings_dict['NAME']} — {ImagingStudy.objects.count():,} examens, "
        f"{AccessEvent.objects.count():,} traces".replace(",", " ")
    )
    previous = quarter.preceding()
    rollups_ready(start=previous.start, end=quarter.end, rebuild=args.rebuild)
    indicators_create(today=quarter.end)

    month = period_parse(f"{quarter.end.year}-{quarter.end.month:02d}")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(bench_admin())
    largest = (
        DailyRollup.objects.filter(day__range=(month.start, month.end), establishment__isnull=False)
        .values("establishment_id")
        .annotate(count=Count("id"))
        .order_by("-count", "establishment_id")
        .values_list("establishment_id", flat=True)
        .first()
    )
    establishment = Establishment.objects.get(pk=largest)
    log("")
    log(f"{'(secondes)':<52}{'médiane':>10}{'max':>11}")
    dashboard_s, size = timed(page(client, f"/pilotage/?periode={month.code}"), args.runs)
    log(f"{'Tableau de bord régional, ' + month.label:<52}{summary(dashboard_s)}  ({size} octets)")
    one_s, _ = timed(
        page(client, f"/pilotage/etablissements/{establishment.pk}/?periode={month.code}"),
        args.runs,
    )
    log(f"{'Tableau de bord d’un établissement, ' + month.label:<52}{summary(one_s)}")
    raw_month_s, (raw_month, establishments) = timed(lambda: raw_figures(month), 1)
    log(f"{'Mêmes chiffres du mois depuis les tables brutes':<52}{summary(raw_month_s)}")

    report_runs = max(1, min(args.runs, 3))
    report_s, report = timed(lambda: funder_report_create(period=quarter), report_runs)
    log(
        f"{'Rapport financeur PDF/A, ' + quarter.label:<52}{summary(report_s)}  "
        f"({report.size} octets)"
    )
    raw_quarter_s, (raw_quarter, _n) = timed(lambda: raw_figures(quarter), 1)
    log(f"{'Mêmes chiffres du trimestre depuis les tables brutes':<52}{summary(raw_quarter_s)}")

    log("")
    median = statistics.median
    log(
        f"Tables brutes / agrégats : tableau de bord du mois "
        f"{median(raw_month_s) / median(dashboard_s):.1f} fois plus lent depuis les tables brutes "
        f"(ses seuls chiffres) ; les seuls chiffres bruts du trimestre prennent "
        f"{median(raw_quarter_s):.2f} s, le rapport entier depuis les agrégats (PDF compris) "
        f"{median(report_s):.2f} s ({establishments} établissements)."
    )
    differences = []
    for period, raw in ((month, raw_month), (quarter, raw_quarter)):
        rolled = region_figures(period=period)
        for name in COMPARED:
            if rolled[name] != raw[name]:
                differences.append(f"{period.code} {name} : {rolled[name]} ≠ {raw[name]}")
    log(
        "Chiffres des agrégats et des tables brutes : "
        + ("identiques" if not differences else "DIFFÉRENTS — " + " ; ".join(differences))
    )
    checks = [
        (
            f"tableau de bord mensuel ≤ {DASHBOARD_S:g} s",
            max(statistics.median(dashboard_s), statistics.median(one_s)),
            DASHBOARD_S,
        ),
        (f"rapport trimestriel PDF ≤ {REPORT_S:g} s", statistics.median(report_s), REPORT_S),
    ]
    log("")
    log("Objectifs (issue 9) :")
    for label, figure, limit in checks:
        log(f"  {label:<40}{figure:>9.3f} s  {'conforme' if figure <= limit else 'NON CONFORME'}")
    return 0 if not differences and all(figure <= limit for _l, figure, limit in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
