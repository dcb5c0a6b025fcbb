"""The dashboards' tables, and the same tables as files French spreadsheets open cleanly.

A ``Table`` is what a page shows (its caption, headers and cells, each cell typed) and what its
CSV and XLSX files hold, so a download always says what the screen says. CSV: UTF-8 with a BOM
(without it Excel reads the accents as Latin-1), ``;`` between fields, decimal commas, dates as
dd/mm/yyyy. XLSX: real numbers and dates, with French-looking number formats.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.http import HttpResponse
from django.utils.formats import date_format
from django.utils.translation import get_language

from reporting.charts import french_number, french_percent

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
# A spreadsheet runs a text starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"
    COUNT = "count"  # a whole number
    SHARE = "share"  # 0..1, shown as a percentage
    CHANGE = "change"  # a signed difference of counts
    RATIO = "ratio"  # a signed relative change (0.125: +12.5 %); None when nothing to compare
    POINTS = "points"  # a signed difference of shares, in percentage points
    DATE = "date"
    MONTH = "month"  # a date standing for its month


CellValue = str | int | float | datetime.date | None


@dataclass(frozen=True)
class Cell:
    value: CellValue
    kind: Kind = Kind.COUNT
    href: str = ""  # on the page only
    level: int = 0  # 1: a "dont…" line under the previous one

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.TEXT, Kind.DATE, Kind.MONTH)

    @property
    def number(self) -> float:
        """The value as a number, for a chart (0 when empty)."""
        return float(self.value) if isinstance(self.value, int | float) else 0.0

    @property
    def text(self) -> str:
        """The cell as the page shows it, in the active language's formats."""
        value = self.value
        if value is None:
            return "—"
        if self.kind is Kind.TEXT:
            return str(value)
        if self.kind is Kind.DATE:
            assert isinstance(value, datetime.date)
            return date_format(value, "SHORT_DATE_FORMAT")
        if self.kind is Kind.MONTH:
            assert isinstance(value, datetime.date)
            return date_format(value, "YEAR_MONTH_FORMAT")
        assert isinstance(value, int | float)
        sign = "+" if value > 0 and self.kind is not Kind.COUNT else ""
        if self.kind is Kind.SHARE:
            return french_percent(value)
        if self.kind is Kind.RATIO:
            return sign + french_percent(value)
        if self.kind is Kind.POINTS:
            return f"{sign}{french_number(value * 100, decimals=1)}\u00a0pt"
        return sign + french_number(value)


@dataclass(frozen=True)
class Table:
    slug: str  # in the export's address and file name
    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)

    @property
    def headers(self) -> list[tuple[str, bool]]:
        """Each column's header and whether it holds numbers (aligned to the right)."""
        first = self.rows[0] if self.rows else []
        return [
            (label, index < len(first) and first[index].numeric)
            for index, label in enumerate(self.columns)
        ]


def long_date(day: datetime.date) -> str:
    """« 1er décembre 2026 », « 2 décembre 2026 » (the active language's words)."""
    text = date_format(day, "j F Y")
    if day.day == 1 and (get_language() or "").startswith("fr"):
        return "1er" + text[1:]
    return text


def _decimal_comma(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def _csv_value(cell: Cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if cell.kind is Kind.TEXT:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_STARTS) else text
    if cell.kind is Kind.DATE:
        assert isinstance(value, datetime.date)
        return value.strftime("%d/%m/%Y")
    if cell.kind is Kind.MONTH:
        assert isinstance(value, datetime.date)
        return value.strftime("%m/%Y")
    assert isinstance(value, int | float)
    if cell.kind in (Kind.SHARE, Kind.RATIO):
        # "12,50%": what a French spreadsheet reads as a percentage.
        return _decimal_comma(value * 100, 2) + "%"
    if cell.kind is Kind.POINTS:
        return _decimal_comma(value * 100, 2)
    return str(value)


def table_csv(table: Table) -> bytes:
    """The table as CSV for French spreadsheets: BOM, ``;``, decimal commas, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_value(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_XLSX_FORMATS = {
    Kind.SHARE: "0.0%",
    Kind.RATIO: "+0.0%;-0.0%;0.0%",
    Kind.POINTS: "+0.0;-0.0;0.0",
    Kind.CHANGE: "+#,##0;-#,##0;0",
    Kind.COUNT: "#,##0",
    Kind.DATE: "DD/MM/YYYY",
    Kind.MONTH: "MM/YYYY",
}
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def table_xlsx(table: Table) -> bytes:
    """The table as a one-sheet workbook: a bold, frozen header row, typed cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.caption.translate(_SHEET_FORBIDDEN)[:31].strip() or table.slug
    book.properties.title = table.caption
    sheet.append(list(table.columns))
    for header in sheet[1]:
        header.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    widths = [len(column) for column in table.columns]
    for row_number, row in enumerate(table.rows, start=2):
        for column, cell in enumerate(row, start=1):
            target = sheet.cell(row=row_number, column=column)
            value = cell.value
            if cell.kind is Kind.POINTS and isinstance(value, int | float):
                value = value * 100
            target.value = value
            if cell.kind is Kind.TEXT:
                target.data_type = "s"  # never a formula, whatever the text starts with
            if cell.kind in _XLSX_FORMATS:
                target.number_format = _XLSX_FORMATS[cell.kind]
            widths[column - 1] = max(widths[column - 1], len(cell.text))
    for index, width in enumerate(widths):
        sheet.column_dimensions[_column_letter(index)].width = min(max(width + 2, 10), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def export_response(table: Table, *, fmt: str, filename: str) -> HttpResponse:
    """``table`` as a download (``fmt``: csv or xlsx) named ``filename`` plus the extension."""
    if fmt == "csv":
        response = HttpResponse(table_csv(table), content_type=CSV_TYPE)
    else:
        response = HttpResponse(table_xlsx(table), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response
