"""Retention of the trail: whole months older than the retention period leave the database,
exported first, and each purge is recorded.

For every month entirely before the cutoff (the first day of the current UTC month less the
retention period), oldest first: the month's rows are written to ``audit-YYYY-MM.csv.gz``
(fsynced, then hashed; values as the digest reads them, so that each row's hash can be
recomputed from the file alone; chain by chain, each in rank order), then in one transaction the
month's partition is detached and dropped (PostgreSQL; SQLite deletes the rows) and a
``RetentionRun`` is created, with one ``RetentionAnchor`` per chain that had rows that month:
its ``last_hash`` is the anchor ``verify_audit_chain`` starts that chain from once the older
rows are gone.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Min
from django.utils.translation import gettext as _

from audit.chain import CHAINS, canonical_text, digest
from audit.models import AccessEvent, RetentionAnchor, RetentionRun
from audit.partitions import PARENT, add_months, is_partitioned, month_start, partition_name
from audit.selectors import (
    COLUMNS,
    access_events_in_chain_order,
    month_bounds,
    months_recorded_before,
    retention_run_exists,
)

# Dropping a partition locks the whole trail: rather fail than make every access decision
# queue behind a long read (an auditor's export, a verification).
LOCK_TIMEOUT = "10s"


class RetentionError(Exception):
    """A month could not be purged; ``done`` lists the months purged before it."""

    def __init__(self, message: str, *, done: list[MonthPurge] | None = None) -> None:
        super().__init__(message)
        self.done = done or []


@dataclass(frozen=True)
class ChainSpan:
    """What a month holds of one chain (``last_hash`` is blank in a dry run)."""

    chain: int
    row_count: int
    first_seq: int
    last_seq: int
    last_hash: str = ""


@dataclass(frozen=True)
class MonthPurge:
    month: datetime.date
    partition: str
    row_count: int
    chains: tuple[ChainSpan, ...]
    export_path: Path | None = None
    export_sha256: str = ""
    run_id: int | None = None  # None in a dry run


@dataclass(frozen=True)
class RetentionReport:
    retention_months: int
    cutoff: datetime.date
    dry_run: bool
    months: list[MonthPurge] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return sum(month.row_count for month in self.months)


@dataclass(frozen=True)
class _Export:
    path: Path
    sha256: str
    chains: tuple[ChainSpan, ...]

    @property
    def row_count(self) -> int:
        return sum(span.row_count for span in self.chains)


def retention_cutoff(*, months: int, today: datetime.date | None = None) -> datetime.date:
    """The first day kept: the first of the current UTC month, ``months`` months back."""
    current = month_start(today or datetime.datetime.now(datetime.UTC).date())
    return add_months(current, -months)


def retention_apply(
    *,
    months: int,
    export_dir: Path,
    dry_run: bool = False,
    today: datetime.date | None = None,
    on_month: Callable[[MonthPurge], None] | None = None,
) -> RetentionReport:
    """Export, then purge, every whole month of the trail older than ``months`` months.

    Each month is its own transaction: one that fails leaves the months before it purged and
    recorded, itself untouched (its export file may remain), and stops the run.
    """
    if months < 1:
        raise RetentionError(_("La durée de conservation doit être d'au moins un mois."))
    cutoff = retention_cutoff(months=months, today=today)
    done: list[MonthPurge] = []
    for month in months_recorded_before(cutoff=cutoff):
        try:
            if retention_run_exists(month=month):
                raise RetentionError(
                    _(
                        "Le mois %(month)s a déjà été purgé et contient de nouveau des traces : "
                        "purge refusée, à examiner."
                    )
                    % {"month": f"{month:%Y-%m}"}
                )
            if dry_run:
                purge = _month_preview(month)
            else:
                purge = _month_purge(month, export_dir=export_dir, retention_months=months)
        except RetentionError as error:
            raise RetentionError(str(error), done=done) from error
        done.append(purge)
        if on_month is not None:
            on_month(purge)
    return RetentionReport(retention_months=months, cutoff=cutoff, dry_run=dry_run, months=done)


def _month_rows(month: datetime.date) -> Any:
    start, end = month_bounds(month)
    return AccessEvent.objects.filter(recorded_at__gte=start, recorded_at__lt=end)


def _month_stats(month: datetime.date) -> dict[int | None, tuple[int, int, int]]:
    """What the month holds of each chain: (rows, first rank, last rank)."""
    stats = (
        _month_rows(month)
        .order_by()
        .values("chain")
        .annotate(count=Count("id"), first=Min("chain_seq"), last=Max("chain_seq"))
    )
    return {row["chain"]: (row["count"], row["first"], row["last"]) for row in stats}


def _month_preview(month: datetime.date) -> MonthPurge:
    stats = _month_stats(month)
    spans = tuple(
        ChainSpan(chain=chain, row_count=count, first_seq=first, last_seq=last)
        for chain, (count, first, last) in sorted(stats.items(), key=lambda item: item[0] or 0)
        if chain is not None
    )
    return MonthPurge(
        month=month,
        partition=partition_name(month) if is_partitioned() else "",
        row_count=sum(count for count, _first, _last in stats.values()),
        chains=spans,
    )


def _month_purge(month: datetime.date, *, export_dir: Path, retention_months: int) -> MonthPurge:
    export = _export(month, export_dir=export_dir)
    partition = partition_name(month) if is_partitioned() else ""
    try:
        with transaction.atomic():
            _drop(month, partition=partition, export=export)
            run = RetentionRun.objects.create(
                month=month,
                partition=partition,
                row_count=export.row_count,
                export_path=str(export.path),
                export_sha256=export.sha256,
                retention_months=retention_months,
            )
            RetentionAnchor.objects.bulk_create(
                RetentionAnchor(
                    run=run,
                    chain=span.chain,
                    row_count=span.row_count,
                    first_seq=span.first_seq,
                    last_seq=span.last_seq,
                    last_hash=span.last_hash,
                )
                for span in export.chains
            )
    except DatabaseError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RetentionError(
            _(
                "La purge de %(month)s a échoué (%(reason)s) : rien n'a été supprimé ; "
                "l'export %(path)s reste sur le disque et sera refait au prochain passage."
            )
            % {"month": f"{month:%Y-%m}", "reason": reason, "path": export.path}
        ) from error
    return MonthPurge(
        month=month,
        partition=partition,
        row_count=export.row_count,
        chains=export.chains,
        export_path=export.path,
        export_sha256=export.sha256,
        run_id=run.pk,
    )


def _drop(month: datetime.date, *, partition: str, export: _Export) -> None:
    """Remove the month, provided it still holds exactly what was exported."""
    name = connection.ops.quote_name(partition) if partition else ""
    if partition:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # No row can reach the month between this check and the drop.
            cursor.execute(f"LOCK TABLE {name} IN SHARE MODE")
    exported = {
        span.chain: (span.row_count, span.first_seq, span.last_seq) for span in export.chains
    }
    if _month_stats(month) != exported:
        _refuse_changed(month)
    if partition:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(PARENT)} DETACH PARTITION {name}"
            )
            cursor.execute(f"DROP TABLE {name}")
    else:
        # SQLite has neither partitions nor the append-only trigger.
        _month_rows(month).delete()


def _export(month: datetime.date, *, export_dir: Path) -> _Export:
    """Write the month to ``audit-YYYY-MM.csv.gz`` (through a temporary name, fsynced), after
    checking its rows' digests and links: a month with a broken chain is evidence, not waste."""
    try:
        export_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise RetentionError(
            _("Dossier d'export inutilisable (%(dir)s) : %(reason)s")
            % {"dir": export_dir, "reason": error.strerror or error}
        ) from error
    path = export_dir / f"audit-{month:%Y-%m}.csv.gz"
    partial = path.with_name(path.name + ".partial")
    start, end = month_bounds(month)
    chains = sorted(_month_stats(month), key=lambda chain: chain or 0)
    spans: list[ChainSpan] = []
    try:
        # The trail names patients and practitioners: readable by the portal's account only.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as raw:
            # mtime=0 and no name in the gzip header: the same rows give the same file.
            with (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
                io.TextIOWrapper(compressed, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text)
                writer.writerow(COLUMNS)
                for chain in chains:
                    if chain is None or not 1 <= chain <= CHAINS:
                        _refuse_broken(month, chain=chain, seq=None)
                    spans.append(_export_chain(month, chain, writer, start=start, end=end))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        _fsync_dir(export_dir)
        sha256 = _sha256(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RetentionError(
            _("Export de %(month)s impossible (%(path)s) : %(reason)s")
            % {"month": f"{month:%Y-%m}", "path": path, "reason": error.strerror or error}
        ) from error
    except RetentionError:
        partial.unlink(missing_ok=True)
        raise
    return _Export(path=path, sha256=sha256, chains=tuple(spans))


def _export_chain(
    month: datetime.date,
    chain: int,
    writer: Any,
    *,
    start: datetime.datetime,
    end: datetime.datetime,
) -> ChainSpan:
    """Write the month's rows of ``chain``, in rank order; what the month held of it."""
    count, first, last = 0, None, None
    rows = access_events_in_chain_order(
        chain=chain, recorded_from=start, recorded_before=end, columns=COLUMNS
    )
    for row in rows:
        _check_link(month, row, last)
        writer.writerow([canonical_text(row[column]) for column in COLUMNS])
        count += 1
        first = row["chain_seq"] if first is None else first
        last = row
    if first is None or last is None:
        # The month's rows of this chain vanished between the count and the walk.
        _refuse_changed(month)
    return ChainSpan(
        chain=chain,
        row_count=count,
        first_seq=first,
        last_seq=last["chain_seq"],
        last_hash=last["hash"],
    )


def _check_link(month: datetime.date, row: dict[str, Any], previous: dict[str, Any] | None) -> None:
    linked = (
        previous is None
        or row["chain_seq"] != previous["chain_seq"] + 1
        or row["prev_hash"] == previous["hash"]
    )
    if digest(row) != row["hash"] or not linked:
        _refuse_broken(month, chain=row["chain"], seq=row["chain_seq"])


def _refuse_broken(month: datetime.date, *, chain: int | None, seq: int | None) -> NoReturn:
    values = {"month": f"{month:%Y-%m}", "chain": chain, "seq": seq, "chains": CHAINS}
    if seq is None:
        message = _(
            "Le mois %(month)s tient des traces hors des chaînes 1 à %(chains)d : rien n'a été "
            "purgé ; lancez verify_audit_chain et conservez ces traces comme preuve."
        )
    else:
        message = _(
            "La chaîne %(chain)d est rompue en %(month)s (trace #%(seq)d) : rien n'a été "
            "purgé ; lancez verify_audit_chain et conservez ces traces comme preuve."
        )
    raise RetentionError(message % values)


def _refuse_changed(month: datetime.date) -> NoReturn:
    raise RetentionError(
        _(
            "Le mois %(month)s a changé pendant son export : rien n'a été supprimé, "
            "relancez la commande."
        )
        % {"month": f"{month:%Y-%m}"}
    )


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as exported:
        for block in iter(lambda: exported.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
