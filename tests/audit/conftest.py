"""Helpers for the trail's tests: events written the way the decision writes them, and the
superuser's way around the append-only trigger."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from audit.chain import CHAINS
from audit.models import AccessEvent, Action, ActorRole, Channel, Rule
from audit.partitions import ensure_current_partitions, ensure_partitions
from audit.services import EventValues, access_events_record


def event(**overrides: Any) -> EventValues:
    values: dict[str, Any] = {
        "actor_role": ActorRole.PRACTITIONER,
        "action": Action.READ,
        "channel": Channel.WEB,
        "granted": True,
        "rule": Rule.CARE_TEAM,
        "purpose": "care",
        "actor_id": 7,
        "actor_label": "Dr Hélène Lefèvre",
        "patient_id": 42,
        "study_id": 420,
        "study_instance_uid": "1.2.250.1.59.42",
        "establishment_id": 3,
        "source_ip": "192.0.2.10",
    }
    values.update(overrides)
    return EventValues(**values)


def record(count: int = 1, **overrides: Any) -> list[AccessEvent]:
    """Write ``count`` events through the service, one INSERT each; return the trail as stored,
    by chain and rank. A test is one transaction, one connection: its rows share one chain,
    unless it sends them elsewhere with ``in_chain``."""
    for _ in range(count):
        access_events_record(events=[event(**overrides)])
    return list(AccessEvent.objects.order_by("chain", "chain_seq"))


def in_chain(chain: int) -> None:
    """Send this transaction's next rows to ``chain``. The trigger keeps the rows of a
    transaction in the chain it chose first (``audit.chain``, a transaction-local setting): a
    test, one transaction on one connection, writes to several chains this way."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('audit.chain', %s, true)", [str(chain)])


def session_chain() -> int:
    """The chain the trigger prefers for this connection (audit/sql/chain.sql)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return pid % CHAINS + 1


def record_at(moments: list[datetime.datetime], **overrides: Any) -> None:
    """Write one event per moment, in that order (the chain follows insertion, not time)."""
    first, last = min(moments), max(moments)
    ensure_partitions(first=first.date(), last=last.date())
    for moment in moments:
        access_events_record(events=[event(recorded_at=moment, **overrides)])


@contextmanager
def triggers_off() -> Iterator[Any]:
    """What a database superuser can do: switch the triggers off for the session."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """One statement run as a superuser would, past the append-only trigger."""
    with triggers_off() as cursor:
        cursor.execute(sql, params)


def utc(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True, scope="session")
def _current_partitions(django_db_setup: None, django_db_blocker: Any) -> None:
    """A test database reused across months may lack this month's partition."""
    with django_db_blocker.unblock():
        ensure_current_partitions()
