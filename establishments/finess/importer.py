"""Reading a FINESS extract of either shape, and the idempotent upsert into FinessEntry."""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from establishments.finess.csv_extract import read_csv_extract
from establishments.finess.json_extract import read_json_extract
from establishments.finess.records import (
    FinessFileError,
    FinessImportError,
    FinessRecord,
    ImportIssue,
    ParsedExtract,
)
from establishments.models import FinessEntry

# Existing rows are looked up this many FINESS numbers at a time (one query per batch).
LOOKUP_BATCH_SIZE = 2000
CREATE_BATCH_SIZE = 1000
# bulk_update writes one CASE per field and object: smaller batches keep statements modest.
UPDATE_BATCH_SIZE = 500
_SNIFF_SIZE = 4096

_T = TypeVar("_T")


class FinessRejectedRowsError(FinessImportError):
    """``strict`` import of a file with rejected rows: nothing was written."""

    def __init__(self, rejections: Sequence[ImportIssue]) -> None:
        self.rejections = list(rejections)
        super().__init__(
            _("%(count)d ligne(s) rejetée(s) : rien n'a été importé (mode strict).")
            % {"count": len(self.rejections)}
        )


@dataclass(frozen=True)
class ImportReport:
    """What an import did: entries created, changed, found identical, and rows refused."""

    shape: str
    created: int
    updated: int
    unchanged: int
    rejected: list[ImportIssue]
    warnings: list[ImportIssue]


def parse_finess_file(path: str | Path) -> ParsedExtract:
    """Read and validate a whole FINESS extract, JSON or CSV, recognised by its content.

    Raises :class:`FinessFileError` (French one-line message) when the file is missing,
    empty, truncated, of an unknown shape or holds no entry at all. Rows that are merely
    invalid do not raise: they come back in ``rejections``.
    """
    path = Path(path)
    extract = read_json_extract(path) if _looks_like_json(path) else read_csv_extract(path)
    if not extract.records and not extract.rejections:
        raise FinessFileError(
            _("Aucune entrée FINESS reconnue dans le fichier %(name)s.") % {"name": path.name}
        )
    return extract


def _looks_like_json(path: Path) -> bool:
    """Whether the first significant character of the file opens a JSON value."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_SIZE).removeprefix(codecs.BOM_UTF8).lstrip()
            while not head:
                chunk = handle.read(_SNIFF_SIZE)
                if not chunk:
                    raise FinessFileError(_("Le fichier %(name)s est vide.") % {"name": path.name})
                head = chunk.lstrip()
    except FileNotFoundError as error:
        raise FinessFileError(_("Fichier introuvable : %(path)s") % {"path": path}) from error
    except IsADirectoryError as error:
        raise FinessFileError(
            _("%(path)s est un dossier, pas un fichier.") % {"path": path}
        ) from error
    except OSError as error:
        raise FinessFileError(_("Lecture impossible de %(path)s.") % {"path": path}) from error
    return head[:1] in (b"{", b"[")


@transaction.atomic
def finess_import(*, path: str | Path, strict: bool = False) -> ImportReport:
    """Import a FINESS extract into the reference table, keyed on the FINESS number.

    The whole file is read and validated before anything is written, and the writes form a
    single transaction: a file that cannot be read writes nothing. An existing entry is only
    saved when one of the fields the file provides differs, so importing the same file
    again creates and updates nothing. With ``strict``, a single rejected row refuses the
    whole file (:class:`FinessRejectedRowsError`).

    Raises :class:`FinessImportError` (French message) when nothing was imported.
    """
    extract = parse_finess_file(path)
    if strict and extract.rejections:
        raise FinessRejectedRowsError(extract.rejections)
    created = updated = 0
    now = timezone.now()
    for batch in _batches(extract.records, LOOKUP_BATCH_SIZE):
        existing = FinessEntry.objects.in_bulk(
            [record.finess for record in batch], field_name="finess"
        )
        new_entries: list[FinessEntry] = []
        changed_entries: list[FinessEntry] = []
        changed_fields: set[str] = set()
        for record in batch:
            entry = existing.get(record.finess)
            if entry is None:
                new_entries.append(FinessEntry(finess=record.finess, **record.values()))
                continue
            changes = _apply(entry, record)
            if changes:
                entry.imported_at = now
                changed_entries.append(entry)
                changed_fields.update(changes)
        FinessEntry.objects.bulk_create(new_entries, batch_size=CREATE_BATCH_SIZE)
        if changed_entries:
            # bulk_update skips auto_now: imported_at is set above and written explicitly.
            FinessEntry.objects.bulk_update(
                changed_entries,
                [*sorted(changed_fields), "imported_at"],
                batch_size=UPDATE_BATCH_SIZE,
            )
        created += len(new_entries)
        updated += len(changed_entries)
    return ImportReport(
        shape=extract.shape,
        created=created,
        updated=updated,
        unchanged=len(extract.records) - created - updated,
        rejected=extract.rejections,
        warnings=extract.warnings,
    )


def _apply(entry: FinessEntry, record: FinessRecord) -> list[str]:
    """Copy the record's values that differ onto ``entry``; return the changed fields."""
    changes = []
    for name, value in record.values().items():
        if getattr(entry, name) != value:
            setattr(entry, name, value)
            changes.append(name)
    return changes


def _batches(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
