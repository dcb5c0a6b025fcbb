"""Reading the trail for its own upkeep: verification of the chain, retention, partition
readiness. The auditor's screens (filters, export) have their own queries."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from audit.chain import CHAINS, FIELDS, chain_numbers
from audit.models import GENESIS_HASH, AccessEvent, ChainHead, RetentionAnchor, RetentionRun
from audit.partitions import (
    add_months,
    is_partitioned,
    month_start,
    partition_name,
    partitions,
)

# Every column of a row, in the model's order: what the retention export writes.
COLUMNS = tuple(field.attname for field in AccessEvent._meta.concrete_fields)
# What verification needs of a row: the hashed fields (its chain and rank first), plus its id
# and hash.
CHAIN_COLUMNS = ("id", *FIELDS, "hash")
BATCH_SIZE = 5000


def chain_heads() -> dict[int, tuple[int, str]]:
    """Each chain's head, (rank, hash), by chain number. A chain without a head row (an
    emptied database, or a demo that writes to chain 1 only) is at the genesis."""
    found = {
        chain: (seq, hash_)
        for chain, seq, hash_ in ChainHead.objects.filter(pk__in=chain_numbers()).values_list(
            "pk", "seq", "hash"
        )
    }
    return {chain: found.get(chain, (0, GENESIS_HASH)) for chain in chain_numbers()}


def access_events_in_chain_order(
    *,
    chain: int,
    from_seq: int | None = None,
    after: tuple[int, int] | None = None,
    recorded_from: datetime.datetime | None = None,
    recorded_before: datetime.datetime | None = None,
    columns: tuple[str, ...] = CHAIN_COLUMNS,
    batch_size: int = BATCH_SIZE,
) -> Iterator[dict[str, Any]]:
    """The rows of one chain as dicts, by (chain_seq, id), from rank ``from_seq`` on, strictly
    after the ``after`` position (rank, id).

    Keyset pagination on the (chain, chain_seq) index: each batch is one short indexed query,
    so memory stays flat however long the trail is (20 million rows at regional scale).
    Ordering by id as well keeps a forged row that repeats a rank in the walk instead of hiding
    it behind its twin.
    """
    rows = AccessEvent.objects.filter(chain=chain).order_by("chain_seq", "id")
    if from_seq is not None:
        rows = rows.filter(chain_seq__gte=from_seq)
    if recorded_from is not None:
        rows = rows.filter(recorded_at__gte=recorded_from)
    if recorded_before is not None:
        rows = rows.filter(recorded_at__lt=recorded_before)
    fields = tuple(dict.fromkeys(("id", "chain_seq", *columns)))
    while True:
        page = rows
        if after is not None:
            seq, pk = after
            page = rows.filter(chain_seq__gte=seq).exclude(Q(chain_seq=seq) & Q(id__lte=pk))
        batch = list(page.values(*fields)[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        after = (batch[-1]["chain_seq"], batch[-1]["id"])


def access_event_first_since(*, chain: int, moment: datetime.datetime) -> dict[str, Any] | None:
    """The earliest link of ``chain`` recorded at or after ``moment``."""
    return (
        AccessEvent.objects.filter(chain=chain, recorded_at__gte=moment)
        .order_by("chain_seq", "id")
        .values(*CHAIN_COLUMNS)
        .first()
    )


def access_event_before(*, chain: int, seq: int) -> dict[str, Any] | None:
    """The link of ``chain`` just below rank ``seq`` that still exists."""
    return (
        AccessEvent.objects.filter(chain=chain, chain_seq__lt=seq)
        .order_by("-chain_seq", "-id")
        .values(*CHAIN_COLUMNS)
        .first()
    )


def access_event_at(*, chain: int, seq: int) -> dict[str, Any] | None:
    return (
        AccessEvent.objects.filter(chain=chain, chain_seq=seq)
        .order_by("id")
        .values(*CHAIN_COLUMNS)
        .first()
    )


def access_event_outside_chains() -> dict[str, Any] | None:
    """A row whose chain is none of the trail's (only a hand-made row can be: the column's
    check refuses it, and a superuser can drop the check)."""
    return (
        AccessEvent.objects.filter(Q(chain__isnull=True) | Q(chain__lt=1) | Q(chain__gt=CHAINS))
        .order_by("chain", "chain_seq", "id")
        .values(*CHAIN_COLUMNS)
        .first()
    )


def retention_anchors_by_chain() -> dict[int, list[RetentionAnchor]]:
    """What the purged months held of each chain, by first rank."""
    anchors: dict[int, list[RetentionAnchor]] = {}
    for anchor in RetentionAnchor.objects.select_related("run").order_by("chain", "first_seq"):
        anchors.setdefault(anchor.chain, []).append(anchor)
    return anchors


def retention_run_exists(*, month: datetime.date) -> bool:
    return RetentionRun.objects.filter(month=month).exists()


def months_recorded_before(*, cutoff: datetime.date) -> list[datetime.date]:
    """The months older than ``cutoff`` that the trail still holds, oldest first.

    PostgreSQL: every partition before the cutoff, rows or not. SQLite: the months that have rows.
    """
    if is_partitioned():
        return [partition.month for partition in partitions() if partition.month < cutoff]
    boundary = datetime.datetime.combine(cutoff, datetime.time(), tzinfo=datetime.UTC)
    oldest = (
        AccessEvent.objects.filter(recorded_at__lt=boundary)
        .order_by("recorded_at")
        .values_list("recorded_at", flat=True)
        .first()
    )
    if oldest is None:
        return []
    months = []
    month = month_start(oldest.astimezone(datetime.UTC).date())
    while month < cutoff:
        start, end = month_bounds(month)
        if AccessEvent.objects.filter(recorded_at__gte=start, recorded_at__lt=end).exists():
            months.append(month)
        month = add_months(month, 1)
    return months


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The UTC instants a month of the trail covers, [start, end)."""
    start = datetime.datetime.combine(month_start(month), datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(add_months(month, 1), datetime.time(), tzinfo=datetime.UTC)
    return start, end


@dataclass(frozen=True)
class PartitionReadiness:
    """Whether the trail can take this month's and next month's rows (always so on SQLite)."""

    partitioned: bool
    current_month: datetime.date
    current_ready: bool
    next_month: datetime.date
    next_partition: str
    next_ready: bool

    @property
    def ok(self) -> bool:
        return self.current_ready and self.next_ready


def partition_readiness(*, today: datetime.date | None = None) -> PartitionReadiness:
    """Do this month's and next month's partitions exist? A row whose month has no partition
    cannot be written, and an access that cannot be traced is refused."""
    current = month_start(today or datetime.datetime.now(datetime.UTC).date())
    following = add_months(current, 1)
    if not is_partitioned():
        return PartitionReadiness(False, current, True, following, "", True)
    existing = {partition.month for partition in partitions()}
    return PartitionReadiness(
        partitioned=True,
        current_month=current,
        current_ready=current in existing,
        next_month=following,
        next_partition=partition_name(following),
        next_ready=following in existing,
    )


def partition_health() -> dict[str, Any]:
    """For /healthz: failing only when this month's rows cannot be written (every access
    would be refused); a missing next month is reported for monitoring to warn about."""
    readiness = partition_readiness()
    return {
        "ok": readiness.current_ready,
        "next_month_ready": readiness.next_ready,
        "next_month": f"{readiness.next_month:%Y-%m}",
    }
