"""Funder indicators' values for a period, from the rollups' selectors (never the raw tables).

Each computation reads what ``reporting.selectors`` combines from the daily rollups:
- establishments connected (any offer, or the sharing offer): the members listed by the
  rollups' ``members_by_offer`` on the period's last day (``members_on``);
- studies shared, practitioners accredited (total, hospital, city): stocks at the end;
- studies produced, outside accesses, break-the-glass uses: flows, summed over the days;
- practitioners accessing, portal patients: sets, each person counted once over the period;
- the share of the regional volume: the network's studies produced over the period divided by
  the region's total entered for that very period (a value administrators enter);
- a manual value: the entry covering the period (the narrowest period first, then the latest
  entry), with the planned amount beside it for a budget line.

Progress toward the target runs from the baseline (0 %) to the target (100 %). An indicator is
on track when its value reaches what is expected by the period's end: the target once its date
has come, otherwise the last milestone due by then; with neither, nothing is expected yet.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from establishments.models import Establishment
from reporting.charts import french_number
from reporting.models import Indicator, IndicatorMilestone, ManualValue
from reporting.periods import Period
from reporting.selectors import Figures, members_on, region_figures, rollups_complete_until

Computation = Indicator.Computation
SHARING_OFFER = "sharing"
HUNDRED = Decimal("100")

# The rollup measure (``reporting.selectors.MEASURES``) behind each computed indicator.
MEASURE_OF: dict[str, str] = {
    Computation.STUDIES_PRODUCED: "studies_produced",
    Computation.STUDIES_SHARED: "studies_shared",
    Computation.OUTSIDE_ACCESSES: "outside_accesses",
    Computation.PRACTITIONERS_ACCREDITED: "accreditations_active",
    Computation.PRACTITIONERS_ACCREDITED_HOSPITAL: "accreditations_active_hospital",
    Computation.PRACTITIONERS_ACCREDITED_CITY: "accreditations_active_city",
    Computation.PRACTITIONERS_ACCESSING: "practitioners_accessing",
    Computation.PORTAL_PATIENTS: "portal_patients",
    Computation.BREAK_GLASS: "break_glass",
}
# No spaces nor commas: codes are typed in lists ("--indicators RCO14,RCR11").
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Computations whose value (or the total it is divided by) administrators enter.
ENTERED = frozenset({Computation.MANUAL, Computation.REGIONAL_VOLUME_SHARE})


class UnknownIndicators(ValueError):
    """``str(error)`` is a one-line French message naming the unknown codes."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = list(codes)
        super().__init__(
            ngettext(
                "Indicateur inconnu : %(codes)s.",
                "Indicateurs inconnus : %(codes)s.",
                len(self.codes),
            )
            % {"codes": ", ".join(self.codes)}
        )


@dataclass(frozen=True)
class IndicatorValue:
    """An indicator over a period, as the report's table shows it."""

    indicator: Indicator
    value: Decimal | None
    missing: str  # why there is no value ("valeur non saisie"...), empty when there is one
    baseline: Decimal
    milestone: IndicatorMilestone | None  # the last one due by the period's end
    target: Decimal
    progress: Decimal | None  # % of the way from the baseline to the target
    on_track: bool | None  # None: nothing expected yet, or no value
    planned: Decimal | None = None  # a budget line's planned amount
    entry: ManualValue | None = None  # the entered value used
    detail: str = ""  # how the value was obtained, in words
    expected: Decimal | None = None  # what is due by the period's end: target or milestone


def indicators_all() -> QuerySet[Indicator]:
    """Every indicator, in report order, with its milestones (two queries)."""
    return Indicator.objects.prefetch_related("milestones").order_by("position", "code")


def indicator_get(*, pk: int) -> Indicator | None:
    return Indicator.objects.filter(pk=pk).first()


def indicator_code_problem(*, code: str, exclude_pk: int | None = None) -> str:
    """Why ``code`` cannot name an indicator (badly written, or taken in any case); empty when
    it can."""
    if not CODE.match(code):
        return _(
            "Le code ne contient que des lettres, des chiffres, des points, des tirets ou des "
            "soulignés, sans espace (par exemple RCO14)."
        )
    taken = Indicator.objects.filter(code__iexact=code)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        return _("Un indicateur porte déjà le code « %(code)s ».") % {"code": code}
    return ""


def manual_values_of(*, indicator: Indicator) -> QuerySet[ManualValue]:
    """Every entry of ``indicator``, newest period first, each with who entered it."""
    return indicator.manual_values.select_related("entered_by").order_by(
        "-period_start", "-period_end", "-entered_at", "-pk"
    )


def indicators_for(*, codes: Sequence[str] | None = None) -> list[Indicator]:
    """The indicators named by ``codes`` (in any case, in report order), or every followed one;
    ``UnknownIndicators`` names the codes that match none."""
    queryset = Indicator.objects.prefetch_related(
        Prefetch("milestones", queryset=IndicatorMilestone.objects.order_by("due_date")),
        Prefetch("manual_values", queryset=ManualValue.objects.select_related("entered_by")),
    ).order_by("position", "code")
    wanted = [code.strip() for code in codes or () if code.strip()]
    if not wanted:
        return list(queryset.filter(active=True))
    by_code = {indicator.code.upper(): indicator for indicator in queryset}
    unknown = [code for code in wanted if code.upper() not in by_code]
    if unknown:
        raise UnknownIndicators(unknown)
    chosen = {code.upper() for code in wanted}
    return [indicator for key, indicator in by_code.items() if key in chosen]


def period_last_day(period: Period) -> datetime.date:
    """The day a period's stocks are read on: its end, or the last complete day of the rollups
    when the period is not over (or not rolled up) yet."""
    complete = rollups_complete_until()
    if complete is not None and period.start <= complete < period.end:
        return complete
    return period.end


def _latest_entry(indicator: Indicator, period: Period, *, exact: bool) -> ManualValue | None:
    entries = [
        entry
        for entry in indicator.manual_values.all()
        if (
            (entry.period_start, entry.period_end) == (period.start, period.end)
            if exact
            else entry.period_start <= period.start and entry.period_end >= period.end
        )
    ]
    # The narrowest period says the most about this one; for the same period, the last entry
    # replaces the earlier ones (they stay recorded).
    entries.sort(
        key=lambda entry: (
            (entry.period_end - entry.period_start).days,
            -entry.entered_at.timestamp(),
            -entry.pk,
        )
    )
    return entries[0] if entries else None


def _milestone(indicator: Indicator, day: datetime.date) -> IndicatorMilestone | None:
    due = [milestone for milestone in indicator.milestones.all() if milestone.due_date <= day]
    return max(due, key=lambda milestone: milestone.due_date) if due else None


def _expected(
    indicator: Indicator, milestone: IndicatorMilestone | None, day: datetime.date | None
) -> Decimal | None:
    if day is not None and indicator.target_date is not None and indicator.target_date <= day:
        return indicator.target
    return milestone.value if milestone else None


def _progress(indicator: Indicator, value: Decimal) -> Decimal:
    span = indicator.target - indicator.baseline
    if span == 0:
        return HUNDRED if value == indicator.target else Decimal("0")
    share = (value - indicator.baseline) / span * HUNDRED
    return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _on_track(indicator: Indicator, value: Decimal, expected: Decimal | None) -> bool | None:
    if expected is None:
        return None
    # A target below the baseline (fewer redundant exams...) is met by going down.
    if indicator.target < indicator.baseline:
        return value <= expected
    return value >= expected


@dataclass(frozen=True)
class _Sources:
    """What a period's computed indicators read, fetched once for all of them."""

    figures: Figures
    members: list[tuple[Establishment, list[str]]]


def _computed(indicator: Indicator, sources: _Sources) -> tuple[Decimal | None, str]:
    """(value, missing reason) of an indicator computed from the rollups."""
    computation = indicator.computation
    if computation == Computation.ESTABLISHMENTS_CONNECTED:
        return Decimal(len(sources.members)), ""
    if computation == Computation.ESTABLISHMENTS_SHARING:
        sharing = [item for item in sources.members if SHARING_OFFER in item[1]]
        return Decimal(len(sharing)), ""
    if sources.figures.days == 0:
        return None, _("aucun agrégat pour la période")
    return Decimal(sources.figures[MEASURE_OF[computation]]), ""


def _share(
    indicator: Indicator, period: Period, sources: _Sources
) -> tuple[Decimal | None, str, str, ManualValue | None]:
    entry = _latest_entry(indicator, period, exact=True)
    if entry is None:
        return None, _("valeur non saisie"), "", None
    if entry.value <= 0:
        return None, _("volume régional saisi nul"), "", entry
    produced = sources.figures["studies_produced"]
    share = (Decimal(produced) / entry.value * HUNDRED).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    detail = _("%(produced)s examens du réseau sur %(total)s examens dans la région") % {
        "produced": french_number(produced),
        "total": french_number(float(entry.value)),
    }
    return share, "", detail, entry


def indicator_values(*, period: Period, codes: Sequence[str] | None = None) -> list[IndicatorValue]:
    """Each indicator's value over ``period`` with its baseline, milestone, target, progress
    and whether it is on track; ``codes`` chooses the indicators (default: those followed).
    A fixed number of queries whatever the number of indicators."""
    indicators = indicators_for(codes=codes)
    last_day = period_last_day(period)
    sources = _Sources(figures=region_figures(period=period), members=members_on(day=last_day))
    results = []
    for indicator in indicators:
        planned: Decimal | None = None
        entry: ManualValue | None = None
        detail = ""
        if indicator.computation == Computation.MANUAL:
            entry = _latest_entry(indicator, period, exact=False)
            value = entry.value if entry else None
            planned = entry.planned if entry else None
            missing = "" if entry else _("valeur non saisie")
        elif indicator.computation == Computation.REGIONAL_VOLUME_SHARE:
            value, missing, detail, entry = _share(indicator, period, sources)
        else:
            value, missing = _computed(indicator, sources)
        milestone = _milestone(indicator, period.end)
        expected = _expected(indicator, milestone, period.end)
        results.append(
            IndicatorValue(
                indicator=indicator,
                value=value,
                missing=missing,
                baseline=indicator.baseline,
                milestone=milestone,
                target=indicator.target,
                progress=None if value is None else _progress(indicator, value),
                on_track=None if value is None else _on_track(indicator, value, expected),
                planned=planned,
                entry=entry,
                detail=detail,
                expected=expected,
            )
        )
    return results
