"""Load a practitioner reference extract (CSV) into ``PractitionerReference``.

Accepted files:
- the public "Annuaire Santé" extraction ``PS_LibreAcces_Personne_activite`` (``|``-separated,
  headers "Type d'identifiant PP", "Identifiant PP", "Nom d'exercice", "Prénom d'exercice",
  "Code profession", "Code savoir-faire"...; one row per activity, so a professional appears on
  several rows);
- simple CSV files separated by ``;`` or ``,`` with headers such as ``rpps`` / ``adeli``,
  ``nom`` / ``last_name``, ``prenom`` / ``first_name``, ``profession``, ``specialite``.
UTF-8 (with or without BOM) or Latin-1 (Windows-1252).

A malformed file (unreadable, no header, no identifier or name column) raises
:class:`ReferenceFileError` and nothing is written. A bad row is rejected with its line number
and reason, and the others are imported. The upsert is idempotent: running the same file twice
creates and updates nothing the second time. Writes are bulk, a fixed number of queries per
chunk of rows.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.identifiers import RppsLuhnWarning, validate_adeli, validate_rpps
from practitioners.models import PractitionerReference

CHUNK_SIZE = 2000
DELIMITERS = ("|", ";", ",", "\t")

# Normalised header -> field; the first alias found in a file wins (most specific first).
ALIASES: dict[str, tuple[str, ...]] = {
    "id_type": ("type_d_identifiant_pp", "type_identifiant", "identifier_type"),
    "id_pp": ("identifiant_pp",),
    "idnps": ("identification_nationale_pp", "idnps"),
    "rpps": ("rpps", "numero_rpps", "n_rpps"),
    "adeli": ("adeli", "numero_adeli", "n_adeli"),
    "last_name": ("nom_d_exercice", "nom_exercice", "nom", "last_name", "nom_de_famille"),
    "first_name": ("prenom_d_exercice", "prenom_exercice", "prenom", "first_name", "prenoms"),
    "profession_code": ("code_profession", "profession_code", "profession"),
    "specialty_code": (
        "code_savoir_faire",
        "specialty_code",
        "code_specialite",
        "specialite",
        "specialty",
    ),
}
IDENTIFIER_FIELDS = ("id_pp", "idnps", "rpps", "adeli")
FIELDS = ("last_name", "first_name", "profession_code", "specialty_code")
MAX_LENGTHS = {"last_name": 150, "first_name": 150, "profession_code": 4, "specialty_code": 8}


class ReferenceFileError(Exception):
    """The file is not a readable reference extract; the message is one French line."""


@dataclass
class ReferenceRow:
    rpps: str | None
    adeli: str | None
    last_name: str
    first_name: str
    profession_code: str
    specialty_code: str

    @property
    def key(self) -> tuple[str, str]:
        return ("rpps", self.rpps) if self.rpps else ("adeli", self.adeli or "")

    def values(self) -> tuple[str, str, str, str]:
        return (self.last_name, self.first_name, self.profession_code, self.specialty_code)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    luhn_warnings: int = 0


def _header_key(header: str) -> str:
    """ "Prénom d'exercice" -> "prenom_d_exercice"."""
    decomposed = unicodedata.normalize("NFKD", header.strip().lstrip("\ufeff"))
    ascii_only = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "_", ascii_only.casefold()).strip("_")


def _decode(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1252, else Latin-1 (which decodes anything)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _columns(header: list[str]) -> dict[str, int]:
    keys = [_header_key(name) for name in header]
    columns: dict[str, int] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in keys:
                columns[name] = keys.index(alias)
                break
    return columns


def _open(text: str) -> tuple[Iterator[list[str]], dict[str, int], int]:
    """Choose the delimiter whose header names the needed columns; return the rows, the
    column map and the header's width."""
    first_line = text.split("\n", 1)[0].strip("\r")
    if not first_line.strip():
        raise ReferenceFileError(_("Fichier vide ou sans ligne d'en-tête."))
    for delimiter in DELIMITERS:
        if delimiter not in first_line:
            continue
        # The national extract ("|") never quotes and may hold stray quotes in names; the
        # simple CSV files may quote, and an unterminated quote is a malformed file.
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=delimiter,
            quoting=csv.QUOTE_NONE if delimiter == "|" else csv.QUOTE_MINIMAL,
            strict=True,
        )
        try:
            header = next(reader)
        except (csv.Error, StopIteration):
            continue
        columns = _columns(header)
        if any(name in columns for name in IDENTIFIER_FIELDS) and "last_name" in columns:
            return reader, columns, len(header)
    raise ReferenceFileError(
        _(
            "En-tête non reconnu : il faut une colonne d'identifiant (RPPS, ADELI ou "
            "« Identifiant PP ») et une colonne de nom (« Nom d'exercice » ou nom), séparées "
            "par « ; », « , » ou « | »."
        )
    )


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _identifiers(row: list[str], columns: dict[str, int]) -> tuple[str | None, str | None]:
    """(rpps, adeli) of a row, validated; raises ValidationError or ValueError."""
    rpps, adeli = _cell(row, columns, "rpps"), _cell(row, columns, "adeli")
    if not rpps and not adeli:
        number = _cell(row, columns, "id_pp")
        kind = _cell(row, columns, "id_type")
        if not number:
            idnps = _cell(row, columns, "idnps")
            kind, number = idnps[:1], idnps[1:]
        if kind == "8" or (not kind and len(number) == 11):
            rpps = number
        elif kind == "0" or (not kind and len(number) == 9):
            adeli = number
        elif number:
            raise ValueError(_("type d'identifiant inconnu (%(kind)s)") % {"kind": kind or "?"})
    if rpps:
        return validate_rpps(rpps), None
    if adeli:
        return None, validate_adeli(adeli)
    raise ValueError(_("identifiant RPPS ou ADELI manquant"))


def read_reference_file(path: str | Path) -> tuple[list[tuple[int, ReferenceRow]], ImportReport]:
    """Parse the whole file first (nothing is written if it is malformed)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ReferenceFileError(
            _("Fichier illisible : %(path)s (%(error)s).")
            % {"path": path, "error": error.strerror or error}
        ) from error
    if b"\x00" in raw[:4096]:
        raise ReferenceFileError(_("Ce fichier n'est pas un fichier texte CSV."))
    text = _decode(raw)
    reader, columns, _width = _open(text)
    report = ImportReport()
    rows: dict[tuple[str, str], tuple[int, ReferenceRow]] = {}
    try:
        for row in reader:
            line = reader.line_num  # type: ignore[attr-defined]
            if not any(cell.strip() for cell in row):
                continue
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", RppsLuhnWarning)
                    rpps, adeli = _identifiers(row, columns)
                report.luhn_warnings += sum(
                    1 for warning in caught if issubclass(warning.category, RppsLuhnWarning)
                )
            except ValidationError as error:
                report.rejected.append((line, " ".join(error.messages)))
                continue
            except ValueError as error:
                report.rejected.append((line, str(error)))
                continue
            values = {name: _cell(row, columns, name) for name in FIELDS}
            if not values["last_name"]:
                report.rejected.append((line, _("nom d'exercice manquant")))
                continue
            too_long = [name for name in FIELDS if len(values[name]) > MAX_LENGTHS[name]]
            if too_long:
                report.rejected.append(
                    (line, _("valeur trop longue : %(fields)s") % {"fields": ", ".join(too_long)})
                )
                continue
            record = ReferenceRow(rpps=rpps, adeli=adeli, **values)
            seen = rows.get(record.key)
            if seen is None:
                rows[record.key] = (line, record)
            elif not seen[1].specialty_code and record.specialty_code:
                # The extract lists one row per activity: keep the first specialty found.
                seen[1].specialty_code = record.specialty_code
    except csv.Error as error:
        raise ReferenceFileError(
            _("Fichier CSV mal formé à la ligne %(line)s : %(error)s.")
            % {"line": reader.line_num, "error": error}  # type: ignore[attr-defined]
        ) from error
    return list(rows.values()), report


def _chunks(items: list[tuple[int, ReferenceRow]]) -> Iterator[list[ReferenceRow]]:
    for start in range(0, len(items), CHUNK_SIZE):
        yield [row for _line, row in items[start : start + CHUNK_SIZE]]


@transaction.atomic
def practitioner_references_import(*, path: str | Path) -> ImportReport:
    """Upsert the reference from the extract at ``path``; see the module's docstring."""
    rows, report = read_reference_file(path)
    now = timezone.now()
    for chunk in _chunks(rows):
        rpps = [row.rpps for row in chunk if row.rpps]
        adeli = [row.adeli for row in chunk if row.adeli]
        existing: dict[tuple[str, str], PractitionerReference] = {}
        for known in PractitionerReference.objects.filter(rpps__in=rpps):
            existing[("rpps", known.rpps or "")] = known
        for known in PractitionerReference.objects.filter(adeli__in=adeli):
            existing[("adeli", known.adeli or "")] = known
        to_create: list[PractitionerReference] = []
        to_update: list[PractitionerReference] = []
        for row in chunk:
            entry = existing.get(row.key)
            if entry is None:
                to_create.append(
                    PractitionerReference(
                        rpps=row.rpps,
                        adeli=row.adeli,
                        last_name=row.last_name,
                        first_name=row.first_name,
                        profession_code=row.profession_code,
                        specialty_code=row.specialty_code,
                        imported_at=now,
                    )
                )
            elif (
                entry.last_name,
                entry.first_name,
                entry.profession_code,
                entry.specialty_code,
            ) != row.values():
                (
                    entry.last_name,
                    entry.first_name,
                    entry.profession_code,
                    entry.specialty_code,
                ) = row.values()
                entry.imported_at = now
                to_update.append(entry)
            else:
                report.unchanged += 1
        PractitionerReference.objects.bulk_create(to_create)
        PractitionerReference.objects.bulk_update(
            to_update,
            ["last_name", "first_name", "profession_code", "specialty_code", "imported_at"],
        )
        report.created += len(to_create)
        report.updated += len(to_update)
    return report
