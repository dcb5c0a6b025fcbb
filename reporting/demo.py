"""The demo region's reporting: a year of daily rollups over the demo's studies and trail, the
funder's indicators with their baselines, milestones and targets, and the figures a regional
administrator enters by hand (the region's imaging volume, the budget spent)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from portal.demo import seed_step
from portal.models import User
from reporting.models import Indicator, IndicatorMilestone, ManualValue, RollupState
from reporting.periods import Period, period_parse
from reporting.rollups import rollups_rebuild, rollups_update

HISTORY_DAYS = 365
ADMIN = "admin@ars.demo"
FEDER = "FEDER 2021-2027"
NETWORK = "Réseau régional d'imagerie"

# code, label, unit, programme, computation, baseline, target, milestone (value), method note
INDICATORS: list[tuple[str, str, str, str, str, str, str, str, str]] = [
    (
        "RCO14",
        "Institutions publiques bénéficiant d'un soutien pour développer des services, "
        "produits et processus numériques",
        "institutions",
        FEDER,
        Indicator.Computation.ESTABLISHMENTS_CONNECTED,
        "0",
        "6",
        "4",
        "Établissements dont un bon de commande contresigné est en vigueur à la fin de la "
        "période. Code à vérifier dans le programme régional.",
    ),
    (
        "RCR11",
        "Utilisateurs de services, produits et processus numériques publics nouveaux et réaménagés",
        "utilisateurs",
        FEDER,
        Indicator.Computation.PRACTITIONERS_ACCESSING,
        "0",
        "60",
        "20",
        "Professionnels distincts ayant consulté des images sur la période. Code à vérifier "
        "dans le programme régional.",
    ),
    (
        "RIM-01",
        "Part du volume régional d'imagerie produite par les membres",
        "%",
        NETWORK,
        Indicator.Computation.REGIONAL_VOLUME_SHARE,
        "0",
        "40",
        "30",
        "Examens produits par les membres, rapportés au volume régional déclaré par l'ARS.",
    ),
    (
        "RIM-02",
        "Professionnels habilités au réseau",
        "professionnels",
        NETWORK,
        Indicator.Computation.PRACTITIONERS_ACCREDITED,
        "0",
        "12",
        "6",
        "",
    ),
    (
        "RIM-03",
        "Examens partagés hors de l'établissement producteur",
        "examens",
        NETWORK,
        Indicator.Computation.STUDIES_SHARED,
        "0",
        "50",
        "10",
        "",
    ),
    (
        "RIM-04",
        "Consultations par des professionnels extérieurs à l'établissement producteur",
        "consultations",
        NETWORK,
        Indicator.Computation.OUTSIDE_ACCESSES,
        "0",
        "200",
        "50",
        "",
    ),
    (
        "RIM-05",
        "Patients ayant consulté leur dossier",
        "patients",
        NETWORK,
        Indicator.Computation.PORTAL_PATIENTS,
        "0",
        "500",
        "50",
        "",
    ),
    (
        "BUD-01",
        "Budget du projet consommé",
        "€",
        FEDER,
        Indicator.Computation.MANUAL,
        "0",
        "1200000",
        "600000",
        "Dépenses engagées d'après la comptabilité du GCS, saisies chaque trimestre.",
    ),
]


def _quarter_of(day: datetime.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@seed_step(order=70)
def seed_reporting(log: Callable[[str], None]) -> None:
    today = timezone.localdate()
    if RollupState.objects.filter(complete_until__isnull=False).exists():
        rows = rollups_update(today=today)
        log(f"pilotage : agrégats mis à jour ({rows} lignes)")
    else:
        start = today - datetime.timedelta(days=HISTORY_DAYS)
        rows = rollups_rebuild(start=start, end=today)
        RollupState.objects.update_or_create(
            pk=1, defaults={"complete_until": today - datetime.timedelta(days=1)}
        )
        log(f"pilotage : {HISTORY_DAYS} jours d'agrégats ({rows} lignes)")
    admin = User.objects.get(email=ADMIN)
    indicators_create(today=today)
    _seed_manual_values(admin=admin, today=today)
    log(f"pilotage : {len(INDICATORS)} indicateurs financeurs, valeurs saisies des trimestres")


def indicators_create(*, today: datetime.date) -> None:
    """The funder's indicators (``INDICATORS``), each with a milestone at the end of the year,
    unless their code exists already. The benchmark's region uses them too."""
    milestone_day = datetime.date(today.year, 12, 31)
    for position, row in enumerate(INDICATORS, start=1):
        code, label, unit, programme, computation, baseline, target, milestone, note = row
        indicator, created = Indicator.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "unit": unit,
                "programme": programme,
                "computation": computation,
                "baseline": Decimal(baseline),
                "target": Decimal(target),
                "target_date": datetime.date(2027, 12, 31),
                "method_note": note,
                "position": position,
            },
        )
        if created:
            IndicatorMilestone.objects.create(
                indicator=indicator, due_date=milestone_day, value=Decimal(milestone)
            )


def _seed_manual_values(*, admin: User, today: datetime.date) -> None:
    """The region's imaging volume and the budget spent, for the last four quarters."""
    volume = Indicator.objects.get(code="RIM-01")
    budget = Indicator.objects.get(code="BUD-01")
    quarter = period_parse(_quarter_of(today))
    for step in range(4):
        if not ManualValue.objects.filter(indicator=budget, period_start=quarter.start).exists():
            _enter_quarter(volume=volume, budget=budget, admin=admin, quarter=quarter, step=step)
        quarter = period_parse(_quarter_of(quarter.start - datetime.timedelta(days=1)))


def _enter_quarter(
    *, volume: Indicator, budget: Indicator, admin: User, quarter: Period, step: int
) -> None:
    ManualValue.objects.create(
        indicator=volume,
        period_start=quarter.start,
        period_end=quarter.end,
        value=Decimal("190"),
        justification="Volume d'examens d'imagerie de la région transmis par l'ARS.",
        entered_by=admin,
    )
    ManualValue.objects.create(
        indicator=budget,
        period_start=quarter.start,
        period_end=quarter.end,
        value=Decimal(420000 + 95000 * (3 - step)),
        planned=Decimal(450000 + 100000 * (3 - step)),
        justification="Dépenses engagées au dernier arrêté comptable du GCS.",
        entered_by=admin,
    )
