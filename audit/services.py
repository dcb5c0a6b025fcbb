"""Writing the trail. Only ``access.decide`` (and the seeds of the demo and the benchmarks)
call these: a trace is written by the decision it records."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import FIELDS, PYTHON_CHAIN, clean_text, digest
from audit.models import AccessEvent, ChainHead
from portal.hot_sql import hot_cursor


@dataclass
class EventValues:
    """What one decision leaves in the trail (the chain fields are added on insert)."""

    actor_role: str
    action: str
    channel: str
    granted: bool
    rule: str
    purpose: str
    actor_id: int | None = None
    actor_label: str = ""
    actor_practitioner_id: int | None = None
    patient_id: int | None = None
    study_id: int | None = None
    study_instance_uid: str = ""
    establishment_id: int | None = None
    grant_id: int | None = None
    break_glass_id: int | None = None
    source_ip: str | None = None
    recorded_at: datetime.datetime = field(default_factory=timezone.now)

    def as_row(self) -> dict[str, object]:
        row = {name: getattr(self, name) for name in _VALUE_NAMES}
        row["actor_label"] = clean_text(self.actor_label)[:254]
        row["purpose"] = clean_text(self.purpose)[:32]
        # As the column keeps it (IPv6 compressed, lower case): the Python chain (SQLite) must
        # hash what verification will read back, as the trigger hashes host(source_ip).
        row["source_ip"] = _SOURCE_IP.get_prep_value(self.source_ip)
        # The hash covers microseconds, the precision both databases keep.
        row["recorded_at"] = self.recorded_at.astimezone(datetime.UTC)
        return row


_VALUE_NAMES = tuple(f.name for f in fields(EventValues))
_SOURCE_IP = AccessEvent._meta.get_field("source_ip")


def access_events_record(*, events: Sequence[EventValues]) -> list[AccessEvent]:
    """Append ``events`` to the trail, in order, in one chain, and return them as chained.
    On PostgreSQL, one INSERT statement (no transaction of its own: in autocommit the
    decision costs its facts and this), whose trigger picks this session's chain and numbers
    and chains the rows there; on SQLite the chaining is done here, in chain 1."""
    if not events:
        return []
    rows = [values.as_row() for values in events]
    if connection.vendor == "postgresql":
        return _insert_chained_by_trigger(rows)
    return _chain_in_python([AccessEvent(**row) for row in rows])


def access_events_append(*, events: Sequence[EventValues]) -> None:
    """``access_events_record`` for a writer that does not read the rows back (the access
    decision): on PostgreSQL the statement returns nothing and no model instance is built,
    which the archive's every request would pay for."""
    if not events:
        return
    if connection.vendor != "postgresql":
        access_events_record(events=events)
        return
    rows = [values.as_row() for values in events]
    sql, params = _insert_statement(rows, returning=False)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)


# The PostgreSQL type of each value column, for the arrays of ``_insert_chained_by_trigger``.
_PG_TYPES = {
    "recorded_at": "timestamptz",
    "granted": "boolean",
    "source_ip": "inet",
    **{name: "bigint" for name in _VALUE_NAMES if name.endswith("_id")},
}


_RETURNING = " RETURNING id, chain, chain_seq, prev_hash, hash"


@cache
def _insert_sql(*, one: bool, returning: bool) -> str:
    # Only names from the model's metadata are formatted in.
    head = f"INSERT INTO {AccessEvent._meta.db_table} ({', '.join(_VALUE_NAMES)}) "
    if one:
        # One row (the archive's every request): plain values, which the driver binds far
        # faster than arrays.
        values = ", ".join(
            f"%s::{_PG_TYPES[name]}" if name in _PG_TYPES else "%s" for name in _VALUE_NAMES
        )
        body = f"VALUES ({values})"
    else:
        # One array per column, whatever the number of rows: the statement's text never
        # changes and its parameters stay few (one per column, not per value).
        arrays = ", ".join(f"%s::{_PG_TYPES.get(name, 'text')}[]" for name in _VALUE_NAMES)
        body = f"SELECT * FROM unnest({arrays})"  # noqa: S608
    return head + body + (_RETURNING if returning else "")


def _insert_statement(
    rows: list[dict[str, object]], *, returning: bool
) -> tuple[str, list[object]]:
    if len(rows) == 1:
        return _insert_sql(one=True, returning=returning), [rows[0][n] for n in _VALUE_NAMES]
    columns: list[object] = [[row[name] for row in rows] for name in _VALUE_NAMES]
    return _insert_sql(one=False, returning=returning), columns


def _insert_chained_by_trigger(rows: list[dict[str, object]]) -> list[AccessEvent]:
    sql, params = _insert_statement(rows, returning=True)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        chained = cursor.fetchall()
    events = []
    for row, (pk, chain, chain_seq, prev_hash, hash_) in zip(rows, chained, strict=True):
        event = AccessEvent(
            **row, id=pk, chain=chain, chain_seq=chain_seq, prev_hash=prev_hash, hash=hash_
        )
        event._state.adding = False
        events.append(event)
    return events


@transaction.atomic
def _chain_in_python(rows: list[AccessEvent]) -> list[AccessEvent]:
    # One writer (the demo), no trigger: every row goes to one chain.
    head, _ = ChainHead.objects.select_for_update().get_or_create(pk=PYTHON_CHAIN)
    for row in rows:
        row.chain = PYTHON_CHAIN
        row.chain_seq = head.seq + 1
        row.prev_hash = head.hash
        row.hash = digest({name: getattr(row, name) for name in FIELDS})
        row.save(force_insert=True)
        head.seq, head.hash = row.chain_seq, row.hash
    head.save(update_fields=["seq", "hash"])
    return rows
