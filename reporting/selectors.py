"""Reads of the reporting app: a period's figures, per establishment and for the region, and
their series over time, from the daily rollups only (never the raw trail).

How a figure of a period is made from its days depends on its kind:
- a *flow* (studies produced, accesses...) is the sum of the days;
- a *stock* (studies shared, accreditations in force, members) is its value on the last day
  of the period that has a rollup;
- a *set* (distinct practitioners, distinct patients) is the size of the union of the days'
  ids: a practitioner who came on two days counts once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from establishments.models import Establishment
from reporting.models import DailyRollup, RollupState
from reporting.periods import Period


class Kind(StrEnum):
    FLOW = "flow"
    STOCK = "stock"
    SET = "set"


@dataclass(frozen=True)
class Measure:
    name: str
    label: str | Promise
    kind: Kind
    field: str  # the DailyRollup field


MEASURES: dict[str, Measure] = {
    measure.name: measure
    for measure in (
        Measure("studies_produced", _("Examens produits"), Kind.FLOW, "studies_produced"),
        Measure(
            "studies_shared",
            _("Examens partagés hors établissement (fin de période)"),
            Kind.STOCK,
            "studies_shared",
        ),
        Measure(
            "outside_accesses",
            _("Consultations par des professionnels extérieurs"),
            Kind.FLOW,
            "outside_accesses",
        ),
        Measure(
            "practitioners_accessing",
            _("Professionnels ayant consulté"),
            Kind.SET,
            "practitioner_ids",
        ),
        Measure(
            "portal_patients",
            _("Patients venus sur leur espace"),
            Kind.SET,
            "portal_patient_ids",
        ),
        Measure("break_glass", _("Accès d'urgence"), Kind.FLOW, "break_glass_uses"),
        Measure(
            "accreditations_active",
            _("Habilitations en cours (fin de période)"),
            Kind.STOCK,
            "accreditations_active",
        ),
        Measure(
            "accreditations_active_hospital",
            _("dont professionnels hospitaliers"),
            Kind.STOCK,
            "accreditations_active_hospital",
        ),
        Measure(
            "accreditations_active_city",
            _("dont professionnels de ville"),
            Kind.STOCK,
            "accreditations_active_city",
        ),
        Measure(
            "accreditations_new", _("Habilitations nouvelles"), Kind.FLOW, "accreditations_new"
        ),
        Measure(
            "accreditations_expired",
            _("Habilitations échues"),
            Kind.FLOW,
            "accreditations_expired",
        ),
        Measure(
            "accreditations_revoked",
            _("Habilitations révoquées"),
            Kind.FLOW,
            "accreditations_revoked",
        ),
    )
}


@dataclass
class Figures:
    """A period's figures for one establishment or the region."""

    values: dict[str, int] = field(default_factory=dict)
    members_by_offer: dict[str, int] = field(default_factory=dict)
    days: int = 0  # days of the period that have a rollup

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


def _combine(rows: Sequence[DailyRollup]) -> Figures:
    figures = Figures(days=len(rows))
    if not rows:
        return figures
    ordered = sorted(rows, key=lambda row: row.day)
    last = ordered[-1]
    for measure in MEASURES.values():
        if measure.kind is Kind.FLOW:
            value = sum(getattr(row, measure.field) for row in ordered)
        elif measure.kind is Kind.STOCK:
            value = getattr(last, measure.field)
        else:
            union: set[int] = set()
            for row in ordered:
                union.update(getattr(row, measure.field))
            value = len(union)
        figures.values[measure.name] = value
    figures.members_by_offer = dict(last.members_by_offer)
    return figures


def _rows(period: Period, *, establishment_ids: Iterable[int] | None) -> list[DailyRollup]:
    """The period's rows: the region's (``None``) or those of these establishments."""
    rows = DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end)
    if establishment_ids is None:
        rows = rows.filter(establishment__isnull=True)
    else:
        rows = rows.filter(establishment_id__in=list(establishment_ids))
    return list(rows.order_by("day"))


def region_figures(*, period: Period) -> Figures:
    return _combine(_rows(period, establishment_ids=None))


def establishment_figures(*, establishment: Establishment, period: Period) -> Figures:
    return _combine(_rows(period, establishment_ids=[establishment.pk]))


@dataclass(frozen=True)
class EstablishmentLine:
    establishment: Establishment
    figures: Figures
    volume_share: float  # of the network's studies produced over the period, 0..1


def establishments_table(
    *, period: Period, establishments: Sequence[Establishment] | None = None
) -> list[EstablishmentLine]:
    """Each establishment's figures over the period and its share of the network's volume,
    largest producer first. Two queries whatever the number of establishments."""
    if establishments is None:
        ids = set(
            DailyRollup.objects.filter(
                day__gte=period.start, day__lte=period.end, establishment__isnull=False
            )
            .order_by()
            .values_list("establishment_id", flat=True)
            .distinct()
        )
        establishments = list(Establishment.objects.filter(pk__in=ids))
    by_establishment: dict[int, list[DailyRollup]] = defaultdict(list)
    for row in _rows(period, establishment_ids=[e.pk for e in establishments]):
        assert row.establishment_id is not None
        by_establishment[row.establishment_id].append(row)
    lines = [
        (establishment, _combine(by_establishment.get(establishment.pk, [])))
        for establishment in establishments
    ]
    total = sum(figures["studies_produced"] for _, figures in lines)
    result = [
        EstablishmentLine(
            establishment=establishment,
            figures=figures,
            volume_share=(figures["studies_produced"] / total) if total else 0.0,
        )
        for establishment, figures in lines
    ]
    result.sort(key=lambda line: (-line.figures["studies_produced"], line.establishment.name))
    return result


ONE_DAY = datetime.timedelta(days=1)


class Step(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def step_for(period: Period) -> Step:
    """A readable number of points: days up to two months, weeks up to half a year."""
    if period.days <= 62:
        return Step.DAY
    if period.days <= 186:
        return Step.WEEK
    return Step.MONTH


def _bucket(day: datetime.date, step: Step) -> datetime.date:
    if step is Step.DAY:
        return day
    if step is Step.WEEK:
        return day - datetime.timedelta(days=day.weekday())
    return day.replace(day=1)


@dataclass(frozen=True)
class Point:
    start: datetime.date  # the day, the week's Monday or the month's first day
    value: int
    # Days of the point inside the period, and in a whole point: a week at the period's edge
    # counts fewer days, and its lower value is no dip in activity.
    days: int = 1
    length: int = 1

    @property
    def partial(self) -> bool:
        return self.days < self.length


def series(
    *,
    measure: str,
    period: Period,
    establishment: Establishment | None = None,
    step: Step | None = None,
) -> list[Point]:
    """``measure`` over the period, one point per day, week or month (each point combined from
    its days like the period is). One query."""
    if measure not in MEASURES:
        raise KeyError(measure)
    step = step or step_for(period)
    ids = None if establishment is None else [establishment.pk]
    buckets: dict[datetime.date, list[DailyRollup]] = defaultdict(list)
    for row in _rows(period, establishment_ids=ids):
        buckets[_bucket(row.day, step)].append(row)
    points = []
    day = _bucket(period.start, step)
    while day <= period.end:
        following = _next(day, step)
        inside = (min(following, period.end + ONE_DAY) - max(day, period.start)).days
        value = _combine(buckets.get(day, []))[measure]
        points.append(Point(day, value, days=inside, length=(following - day).days))
        day = following
    return points


def has_partial_weeks(period: Period) -> bool:
    """Whether the period's weekly points start or end with an incomplete week."""
    return step_for(period) is Step.WEEK and (
        period.start.weekday() != 0 or period.end.weekday() != 6
    )


def _next(day: datetime.date, step: Step) -> datetime.date:
    if step is Step.DAY:
        return day + datetime.timedelta(days=1)
    if step is Step.WEEK:
        return day + datetime.timedelta(days=7)
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def rollups_complete_until() -> datetime.date | None:
    state = RollupState.objects.filter(pk=1).first()
    return state.complete_until if state else None


def members_on(*, day: datetime.date) -> list[tuple[Establishment, list[str]]]:
    """Establishments with an order in force on ``day`` and their offers, from the rollups."""
    rows = (
        DailyRollup.objects.filter(day=day, establishment__isnull=False)
        .exclude(Q(members_by_offer={}))
        .select_related("establishment")
        .order_by("establishment__name")
    )
    return [(row.establishment, sorted(row.members_by_offer)) for row in rows if row.establishment]
