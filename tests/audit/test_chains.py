"""The trail is CHAINS independent hash chains: the trigger gives a session its own chain, keeps
the rows of one statement together, and lets another session write while one holds its chain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, connections, transaction

from audit.chain import CHAINS, FIELDS, chain_numbers, digest
from audit.models import GENESIS_HASH, AccessEvent, ChainHead
from audit.selectors import CHAIN_COLUMNS
from audit.services import access_events_record
from audit.verification import chain_verify
from tests.audit.conftest import event, record, session_chain, tamper, triggers_off

pytestmark = pytest.mark.django_db

# One row, every chain field left to the trigger.
INSERT = (
    "INSERT INTO audit_accessevent (recorded_at, actor_label, actor_role, study_instance_uid,"
    " action, channel, granted, rule, purpose) VALUES (now(), 'Dr Test', 'practitioner', '',"
    " 'read', 'archive', true, 'grant', 'care') RETURNING chain, chain_seq"
)


@contextmanager
def session() -> Iterator[psycopg.Connection[Any]]:
    """Another database session on the test database, in autocommit."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        autocommit=True,
    ) as other:
        yield other


def pid_chain(other: psycopg.Connection[Any]) -> int:
    return other.info.backend_pid % CHAINS + 1


@pytest.fixture
def heads() -> None:
    """The heads the migration creates, committed (a flushed database has none, and the first
    writer's new heads would make the others wait for its commit)."""
    ChainHead.objects.bulk_create(
        [ChainHead(pk=chain) for chain in chain_numbers()], ignore_conflicts=True
    )


def test_it_writes_a_session_to_its_own_chain() -> None:
    rows = record(3)
    assert {row.chain for row in rows} == {session_chain()}
    assert [row.chain_seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]


def test_it_keeps_the_rows_of_one_statement_together_and_in_order() -> None:
    record(2)
    page = access_events_record(events=[event(actor_id=100 + n) for n in range(50)])
    stored = list(AccessEvent.objects.filter(actor_id__gte=100).order_by("chain_seq"))
    assert [row.actor_id for row in stored] == [100 + n for n in range(50)]
    assert {row.chain for row in stored} == {session_chain()}
    assert [row.chain_seq for row in stored] == list(range(3, 53))
    assert [(row.chain, row.chain_seq, row.hash) for row in page] == [
        (row.chain, row.chain_seq, row.hash) for row in stored
    ]
    assert chain_verify().ok


def test_it_ignores_a_chain_and_a_rank_given_by_the_client() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_accessevent (chain, chain_seq, recorded_at, actor_label,"
            " actor_role, study_instance_uid, action, channel, granted, rule, purpose,"
            " prev_hash, hash) VALUES (%s, 999, now(), 'Dr Test', 'practitioner', '', 'read',"
            " 'web', true, 'grant', 'care', %s, %s)",
            [session_chain() % CHAINS + 1, "a" * 64, "b" * 64],
        )
    row = AccessEvent.objects.values(*CHAIN_COLUMNS).get()
    assert (row["chain"], row["chain_seq"], row["prev_hash"]) == (session_chain(), 1, GENESIS_HASH)
    assert digest(row) == row["hash"]


def test_it_hashes_the_chain_number() -> None:
    (row,) = AccessEvent.objects.filter(pk=record(1)[0].pk).values(*FIELDS, "hash")
    assert digest(row) == row["hash"]
    assert digest(row | {"chain": row["chain"] % CHAINS + 1}) != row["hash"]


def test_it_holds_one_head_per_chain_and_no_other() -> None:
    rows = record(2)
    heads = dict(ChainHead.objects.values_list("pk", "seq"))
    assert sorted(heads) == list(chain_numbers())
    assert heads[rows[0].chain] == 2
    assert sum(heads.values()) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        ChainHead.objects.create(pk=CHAINS + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChainHead.objects.create(pk=0)


def test_it_starts_every_chain_again_in_an_emptied_database() -> None:
    record(2)
    tamper("DELETE FROM audit_accessevent")
    ChainHead.objects.all().delete()
    rows = record(1)
    assert (rows[0].chain, rows[0].chain_seq) == (session_chain(), 1)
    assert ChainHead.objects.count() == CHAINS
    assert chain_verify().ok


def test_it_refuses_a_chain_outside_the_trail_even_past_the_trigger() -> None:
    rows = record(1)
    with (
        triggers_off() as cursor,
        pytest.raises(IntegrityError, match="audit_event_chain_range"),
        transaction.atomic(),
    ):
        cursor.execute(
            "INSERT INTO audit_accessevent (id, chain, chain_seq, recorded_at, actor_label,"
            " actor_role, study_instance_uid, action, channel, granted, rule, purpose,"
            " prev_hash, hash) SELECT 999999, %s, 1, recorded_at, actor_label, actor_role,"
            " study_instance_uid, action, channel, granted, rule, purpose, prev_hash, hash"
            " FROM audit_accessevent WHERE id = %s",
            [CHAINS + 1, rows[0].id],
        )
    assert AccessEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("heads")
def test_it_lets_another_session_write_while_one_holds_its_chain() -> None:
    with session() as first, session() as second:
        second.execute("SET lock_timeout = '2s'")
        with first.transaction():
            # The first session holds the chain the second one prefers, uncommitted.
            first.execute("SELECT set_config('audit.chain', %s, true)", [str(pid_chain(second))])
            assert first.execute(INSERT).fetchone() == (pid_chain(second), 1)
            # The second takes the next chain instead of waiting for that commit.
            written = second.execute(INSERT).fetchone()
            assert written == (pid_chain(second) % CHAINS + 1, 1)
            # The first transaction's rows stay in the chain it took.
            assert first.execute(INSERT).fetchone() == (pid_chain(second), 2)
        # Once it is committed, the second session writes to its own chain again.
        assert second.execute(INSERT).fetchone() == (pid_chain(second), 3)
    assert AccessEvent.objects.count() == 4
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("heads")
def test_it_waits_for_its_own_chain_only_when_every_chain_is_held() -> None:
    with ExitStack() as stack:
        holders = [stack.enter_context(session()) for _ in chain_numbers()]
        chains = set()
        for holder in holders:
            holder.execute("BEGIN")
            row = holder.execute(INSERT).fetchone()
            assert row is not None
            chains.add(row[0])
        assert chains == set(chain_numbers())
        late = stack.enter_context(session())
        late.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            late.execute(INSERT)
        holders[0].execute("COMMIT")
        for holder in holders[1:]:
            holder.execute("ROLLBACK")
    report = chain_verify()
    assert report.ok
    assert report.checked == 1


@pytest.mark.django_db(transaction=True)
def test_it_chains_concurrent_writers_into_unbroken_chains() -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def write(actor_id: int) -> None:
        try:
            start.wait()
            for index in range(20):
                batch = 1 + index % 3
                purpose = f"w{actor_id}-{index}"
                access_events_record(events=[event(actor_id=actor_id, purpose=purpose)] * batch)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write, args=(actor,)) for actor in (1, 2, 3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert not errors
    total = 3 * sum(1 + index % 3 for index in range(20))
    rows = list(AccessEvent.objects.order_by("chain", "chain_seq").values("chain", "chain_seq"))
    assert len(rows) == total
    by_chain: dict[int, list[int]] = {}
    for row in rows:
        by_chain.setdefault(row["chain"], []).append(row["chain_seq"])
    for seqs in by_chain.values():
        assert seqs == list(range(1, len(seqs) + 1))
    # The rows of one statement: one chain, consecutive ranks.
    batches: dict[str, list[tuple[int, int]]] = {}
    for purpose, chain, seq in AccessEvent.objects.values_list("purpose", "chain", "chain_seq"):
        batches.setdefault(purpose, []).append((chain, seq))
    assert len(batches) == 60
    for placed in batches.values():
        placed.sort()
        assert len({chain for chain, _seq in placed}) == 1
        assert [seq for _chain, seq in placed] == list(
            range(placed[0][1], placed[0][1] + len(placed))
        )
    heads = dict(ChainHead.objects.values_list("pk", "seq"))
    assert {chain: len(seqs) for chain, seqs in by_chain.items()} == {
        chain: seq for chain, seq in heads.items() if seq
    }
    report = chain_verify()
    assert report.ok
    assert report.checked == total
