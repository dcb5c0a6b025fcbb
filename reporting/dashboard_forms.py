"""The dashboards' period picker: a preset period (this month, last quarter...) or two dates,
read from the query string (``?periode=2026-Q3``, or ``?du=…&au=…`` from the date inputs)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reporting.periods import Period, PeriodError, period_of_dates, period_parse


def comparison_period(period: Period) -> Period:
    """The period a dashboard compares ``period`` with (``Period.preceding``)."""
    return period.preceding()


def period_presets(*, today: datetime.date) -> list[tuple[str, str]]:
    """The picker's preset periods around ``today``, as (code, label)."""
    this_month = period_parse(f"{today.year}-{today.month:02d}")
    this_quarter = period_parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    this_year = period_parse(str(today.year))
    labelled = (
        (_("Ce mois-ci (%(label)s)"), this_month),
        (_("Le mois dernier (%(label)s)"), comparison_period(this_month)),
        (_("Ce trimestre (%(label)s)"), this_quarter),
        (_("Le trimestre dernier (%(label)s)"), comparison_period(this_quarter)),
        (_("Cette année (%(label)s)"), this_year),
        (_("L'année dernière (%(label)s)"), comparison_period(this_year)),
    )
    return [(period.code, str(label) % {"label": period.label}) for label, period in labelled]


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """``periode`` (a preset's code, or any period ``period_parse`` reads) or ``du`` and
    ``au``; neither gives the current month. After ``is_valid()``, ``period`` is the chosen
    period and ``from_dates`` tells whether it came from the date inputs (the view then
    redirects to its ``?periode=`` address, which can be bookmarked)."""

    periode = forms.CharField(label=_("Période affichée"), required=False, max_length=40)
    du = forms.DateField(
        label=_("Du"), required=False, widget=_DateInput(), input_formats=["%Y-%m-%d", "%d/%m/%Y"]
    )
    au = forms.DateField(
        label=_("Au (inclus)"),
        required=False,
        widget=_DateInput(),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )

    def __init__(self, *args: object, today: datetime.date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.today = today
        self.period: Period | None = None
        self.from_dates = False

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        start, end = cleaned.get("du"), cleaned.get("au")
        code = (cleaned.get("periode") or "").strip()
        try:
            if start or end:
                if not (start and end):
                    raise forms.ValidationError(
                        gettext("Indiquez le premier et le dernier jour de la période.")
                    )
                self.period = period_of_dates(start, end)
                self.from_dates = True
            elif code:
                self.period = period_parse(code)
            else:
                self.period = period_parse(f"{self.today.year}-{self.today.month:02d}")
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from error
        return cleaned
