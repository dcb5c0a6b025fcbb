"""The CSV shape of the FINESS extract: data.gouv's "etalab" establishment file, or a CSV
with a header line naming the same columns.

The etalab file has no header: its first line is metadata (``finess;etalab;<n>;<date>``),
establishment lines start with ``structureet`` and carry the columns of
:data:`ETALAB_COLUMNS` in that order; other sections (``geolocalisation``...) are skipped.
It is published semicolon-separated in Windows-1252. A header-first CSV may hold any subset
of those columns (at least ``nofinesset`` and ``rs`` or ``rslongue``), comma- or
semicolon-separated, in UTF-8 or Latin-1; only the fields of the columns present are
written. Every row is a geographic establishment (level ``eg``); an optional
``datefermeture`` column closes it.

The file is streamed line by line; line numbers in reports are the file's physical lines.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from establishments.finess.records import (
    ExtractBuilder,
    FinessFileError,
    ParsedExtract,
    RawEntry,
    clean_text,
    split_routing_line,
)
from establishments.models import FinessEntry

if TYPE_CHECKING:
    from _csv import Reader

# Columns of the etalab establishment file ("structureet" lines), first to last.
ETALAB_COLUMNS: tuple[str, ...] = (
    "section",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "datemaj",
    "numuai",
)
ESTABLISHMENT_SECTION = "structureet"
CLOSING_COLUMN = "datefermeture"
_ALIASES = {"maj": "datemaj"}
# The FinessEntry fields each column feeds; "level" is always known (every row is an EG).
_COLUMN_FIELDS: dict[str, frozenset[str]] = {
    "nofinessej": frozenset({"finess_ej"}),
    "rs": frozenset({"name", "short_name"}),
    "rslongue": frozenset({"name"}),
    "siret": frozenset({"siret", "siren"}),
    "compldistrib": frozenset({"address"}),
    "numvoie": frozenset({"address"}),
    "compvoie": frozenset({"address"}),
    "typvoie": frozenset({"address"}),
    "voie": frozenset({"address"}),
    "lieuditbp": frozenset({"address"}),
    "ligneacheminement": frozenset({"postal_code", "city", "department"}),
    "departement": frozenset({"department"}),
    "telephone": frozenset({"phone"}),
    "categetab": frozenset({"category_code"}),
    "libcategetab": frozenset({"category_label"}),
    "dateouv": frozenset({"opened_on"}),
    "datemaj": frozenset({"source_updated_at"}),
    CLOSING_COLUMN: frozenset({"closed_on"}),
}
# Tried in this order: the etalab file is Windows-1252; Latin-1 decodes any byte.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class _Layout:
    """Where each known column sits, and which rows are establishments."""

    shape: str
    columns: dict[str, int]
    section_column: int | None
    # Without a section column every row is an establishment; with one, only those whose
    # section is "structureet" (or, in a header-first file, empty).
    section_required: bool

    @cached_property
    def width(self) -> int:
        """How many cells a row needs to hold every known column."""
        return max(self.columns.values()) + 1

    @cached_property
    def provides(self) -> frozenset[str]:
        fields = {"level"}
        for column in self.columns:
            fields |= _COLUMN_FIELDS.get(column, frozenset())
        return frozenset(fields)


_ETALAB_LAYOUT = _Layout(
    shape="CSV etalab",
    # numuai, last, is missing from older files: a row only needs the columns up to datemaj.
    columns={name: index for index, name in enumerate(ETALAB_COLUMNS) if name not in ("numuai",)},
    section_column=0,
    section_required=True,
)


def read_csv_extract(path: Path) -> ParsedExtract:
    """Read and validate a whole CSV extract; raise :class:`FinessFileError` if unusable."""
    for encoding in _ENCODINGS:
        try:
            return _read(path, encoding)
        except UnicodeDecodeError:
            continue
    raise FinessFileError(_("Encodage du fichier CSV non reconnu."))  # pragma: no cover


def _read(path: Path, encoding: str) -> ParsedExtract:
    with path.open(encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        reader = csv.reader(itertools.chain([first_line], handle), delimiter=_delimiter(first_line))
        rows = _numbered_rows(reader)
        first = next(rows, None)
        if first is None:
            raise FinessFileError(_("Le fichier CSV est vide."))
        layout, first_is_data = _layout(first[1])
        builder = ExtractBuilder(layout.shape)
        line_label = _("ligne %(line)d")
        for line, row in itertools.chain([first] if first_is_data else [], rows):
            _read_row(builder, layout, line_label % {"line": line}, row)
        return builder.extract


def _numbered_rows(reader: Reader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the number of the file line each starts on (quoted cells may span lines)."""
    line_count = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FinessFileError(
                _("Fichier CSV illisible ligne %(line)d.") % {"line": line_count + 1}
            ) from error
        start = line_count + 1
        line_count = reader.line_num
        if any(cell.strip() for cell in row):
            yield start, row


def _delimiter(line: str) -> str:
    counts = {delimiter: line.count(delimiter) for delimiter in (";", ",", "\t")}
    return max(counts, key=lambda delimiter: counts[delimiter])


def _layout(first_row: list[str]) -> tuple[_Layout, bool]:
    """The layout of the file from its first row, and whether that row is data."""
    cells = [cell.strip().lower() for cell in first_row]
    if cells[:2] == ["finess", "etalab"]:
        return _ETALAB_LAYOUT, False
    if cells[0] == ESTABLISHMENT_SECTION:
        return _ETALAB_LAYOUT, True
    if "nofinesset" not in cells:
        raise FinessFileError(
            _(
                "Colonnes non reconnues : ni lignes « structureet » du fichier etalab, "
                "ni ligne d'en-tête avec au moins « nofinesset » et « rs »."
            )
        )
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _ALIASES.get(cell, cell)
        if name in _COLUMN_FIELDS or name in ("nofinesset", "section"):
            columns.setdefault(name, index)
    if "rs" not in columns and "rslongue" not in columns:
        raise FinessFileError(_("Colonne « rs » (raison sociale) absente de l'en-tête."))
    # The etalab section column may be kept, named "section" or, as in the etalab file's
    # own first line, "finess".
    section_column = columns.pop("section", None)
    if section_column is None and cells[0] == "finess":
        section_column = 0
    layout = _Layout(
        shape="CSV", columns=columns, section_column=section_column, section_required=False
    )
    return layout, False


def _read_row(builder: ExtractBuilder, layout: _Layout, location: str, row: list[str]) -> None:
    if layout.section_column is not None:
        index = layout.section_column
        section = row[index].strip().lower() if index < len(row) else ""
        if section != ESTABLISHMENT_SECTION and (section or layout.section_required):
            return
    if len(row) < layout.width:
        builder.reject(
            location,
            _("Ligne incomplète : %(found)d colonnes lues, au moins %(expected)d attendues.")
            % {"found": len(row), "expected": layout.width},
        )
        return

    def cell(column: str) -> str:
        index = layout.columns.get(column)
        return "" if index is None else clean_text(row[index])

    postal_code, city = split_routing_line(cell("ligneacheminement"))
    street = " ".join(
        part for part in (cell("numvoie"), cell("compvoie"), cell("typvoie"), cell("voie")) if part
    )
    closing_date = cell(CLOSING_COLUMN)
    builder.add(
        RawEntry(
            location=location,
            level=FinessEntry.Level.SITE,
            provides=layout.provides,
            finess=cell("nofinesset"),
            finess_ej=cell("nofinessej"),
            siret=cell("siret"),
            name=cell("rslongue") or cell("rs"),
            short_name=cell("rs"),
            category_code=cell("categetab"),
            category_label=cell("libcategetab"),
            address=", ".join(
                part for part in (cell("compldistrib"), street, cell("lieuditbp")) if part
            ),
            postal_code=postal_code,
            city=city,
            department=cell("departement"),
            phone=cell("telephone"),
            opened_on=cell("dateouv"),
            closed=bool(closing_date),
            closed_on=closing_date,
            updated_at=cell("datemaj"),
        )
    )
