"""Writing the trail. Only ``access.decide`` (and the seeds of the demo and the benchmarks)
call these: a trace is written by the decision it records."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import FIELDS, clean_text, digest
from audit.models import AccessEvent, ChainHead


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
        row = asdict(self)
        row["actor_label"] = clean_text(self.actor_label)[:254]
        row["purpose"] = clean_text(self.purpose)[:32]
        # As the column keeps it (IPv6 compressed, lower case): the Python chain (SQLite) must
        # hash what verification will read back, as the trigger hashes host(source_ip).
        row["source_ip"] = AccessEvent._meta.get_field("source_ip").get_prep_value(self.source_ip)
        # The hash covers microseconds, the precision both databases keep.
        row["recorded_at"] = self.recorded_at.astimezone(datetime.UTC)
        return row


def access_events_record(*, events: Sequence[EventValues]) -> list[AccessEvent]:
    """Append ``events`` to the trail, in order: one INSERT on PostgreSQL, whose trigger
    numbers and chains the rows; on SQLite the chaining is done here."""
    rows = [AccessEvent(**values.as_row()) for values in events]
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return AccessEvent.objects.bulk_create(rows)
    return _chain_in_python(rows)


def access_event_record(*, event: EventValues) -> AccessEvent:
    return access_events_record(events=[event])[0]


@transaction.atomic
def _chain_in_python(rows: list[AccessEvent]) -> list[AccessEvent]:
    head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
    for row in rows:
        row.chain_seq = head.seq + 1
        row.prev_hash = head.hash
        row.hash = digest({name: getattr(row, name) for name in FIELDS})
        row.save(force_insert=True)
        head.seq, head.hash = row.chain_seq, row.hash
    head.save(update_fields=["seq", "hash"])
    return rows
