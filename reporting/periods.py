"""Reporting periods as people write them: a year (``2026``), a half (``2026-S1``), a quarter
(``2026-Q3``), a month (``2026-10``) or two days (``2026-01-01..2026-03-31``)."""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-S([12])$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-(?:Q|T)([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
# No report spans more than this: a longer one would read years of daily rows.
LONGEST_DAYS = 5 * 366


class PeriodError(ValueError):
    """``str(error)`` is a one-line French message."""


@dataclass(frozen=True)
class Period:
    code: str  # as parsed, normalised: "2026-Q3"
    start: datetime.date
    end: datetime.date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> Iterator[datetime.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += datetime.timedelta(days=1)

    @property
    def label(self) -> str:
        """The period in French words: « 3e trimestre 2026 », « octobre 2026 »..."""
        if match := _QUARTER.match(self.code):
            number = int(match.group(2))
            ordinal = "1er" if number == 1 else f"{number}e"
            return f"{ordinal} trimestre {match.group(1)}"
        if match := _HALF.match(self.code):
            ordinal = "1er" if match.group(2) == "1" else "2e"
            return f"{ordinal} semestre {match.group(1)}"
        if match := _MONTH.match(self.code):
            return f"{MONTHS_FR[int(match.group(2)) - 1]} {match.group(1)}"
        if _YEAR.match(self.code):
            return f"année {self.code}"
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"

    def previous(self) -> Period:
        """The period of the same length just before."""
        end = self.start - datetime.timedelta(days=1)
        start = end - datetime.timedelta(days=self.days - 1)
        return Period(code=f"{start.isoformat()}..{end.isoformat()}", start=start, end=end)

    def preceding(self) -> Period:
        """What a trend compares this period with: the month, quarter, half or year just
        before (September for October, though a day shorter); for two dates, ``previous``."""
        day = self.start - datetime.timedelta(days=1)
        if _MONTH.match(self.code):
            return period_parse(f"{day.year}-{day.month:02d}")
        if _QUARTER.match(self.code):
            return period_parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
        if _HALF.match(self.code):
            return period_parse(f"{day.year}-S{1 if day.month <= 6 else 2}")
        if _YEAR.match(self.code):
            return period_parse(str(day.year))
        return self.previous()


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def period_parse(text: str) -> Period:
    """The period ``text`` names; ``PeriodError`` with a French message otherwise."""
    value = text.strip()
    try:
        if match := _YEAR.match(value):
            year = int(match.group(1))
            return Period(value, datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        if match := _HALF.match(value):
            year, half = int(match.group(1)), int(match.group(2))
            first = 1 if half == 1 else 7
            return Period(
                f"{year}-S{half}", datetime.date(year, first, 1), _month_end(year, first + 5)
            )
        if match := _QUARTER.match(value):
            year, quarter = int(match.group(1)), int(match.group(2))
            first = 3 * (quarter - 1) + 1
            return Period(
                f"{year}-Q{quarter}", datetime.date(year, first, 1), _month_end(year, first + 2)
            )
        if match := _MONTH.match(value):
            year, month = int(match.group(1)), int(match.group(2))
            return Period(value, datetime.date(year, month, 1), _month_end(year, month))
        if match := _RANGE.match(value):
            start = datetime.date.fromisoformat(match.group(1))
            end = datetime.date.fromisoformat(match.group(2))
            if end < start:
                raise PeriodError(_("La fin de la période précède son début."))
            if (end - start).days + 1 > LONGEST_DAYS:
                raise PeriodError(_("Une période dure au plus cinq ans."))
            return Period(value, start, end)
    except ValueError as error:
        if isinstance(error, PeriodError):
            raise
        raise PeriodError(
            _("Date impossible dans la période « %(text)s ».") % {"text": value}
        ) from error
    raise PeriodError(
        _(
            "Période « %(text)s » non reconnue : écrivez 2026, 2026-S1, 2026-Q3, 2026-10 ou "
            "2026-01-01..2026-03-31."
        )
        % {"text": value}
    )


def period_of_dates(start: datetime.date, end: datetime.date) -> Period:
    """A period from two days (a date picker)."""
    return period_parse(f"{start.isoformat()}..{end.isoformat()}")
