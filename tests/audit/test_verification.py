"""verify_audit_chain catches what a database superuser can do to the trail: edit a row, remove
one or the tail, slip one in; and the append-only trigger refuses the application's edits."""

from __future__ import annotations

import datetime
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from audit.chain import FIELDS, digest
from audit.models import GENESIS_HASH, AccessEvent, ChainHead
from audit.partitions import ensure_partitions, partition_name
from audit.selectors import CHAIN_COLUMNS
from audit.services import access_events_record
from audit.verification import Flaw, chain_verify
from tests.audit.conftest import event, record, record_at, tamper, triggers_off, utc

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue().strip()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        verify(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def when(row: AccessEvent) -> str:
    return row.recorded_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_it_reports_an_intact_chain_and_its_head() -> None:
    rows = record(5)
    out = verify()
    assert out == (
        "Chaîne intègre : 5 traces vérifiées, de #1 à #5. "
        f"Tête de chaîne : #5, empreinte {rows[-1].hash}."
    )
    assert rows[0].prev_hash == GENESIS_HASH
    assert "\n" not in out


def test_it_reports_an_empty_trail_as_intact() -> None:
    assert verify().startswith("Chaîne intègre : aucune trace à vérifier")


def test_it_names_a_row_edited_through_sql_by_a_superuser() -> None:
    rows = record(5)
    tamper("UPDATE audit_accessevent SET granted = NOT granted WHERE chain_seq = 3")
    message = broken()
    assert message.startswith(f"Chaîne rompue à la trace #3 (id {rows[2].id}, enregistrée le ")
    assert when(rows[2]) in message
    assert "contenu modifié" in message
    report = chain_verify()
    assert report.broken is not None
    assert report.broken.flaw is Flaw.ALTERED
    assert report.broken.event_id == rows[2].id


def test_it_names_the_next_row_when_the_edited_row_was_rehashed() -> None:
    rows = record(5)
    forged = {name: getattr(rows[2], name) for name in FIELDS} | {"actor_label": "Quelqu'un"}
    tamper(
        "UPDATE audit_accessevent SET actor_label = %s, hash = %s WHERE chain_seq = 3",
        ["Quelqu'un", digest(forged)],
    )
    message = broken()
    assert f"à la trace #4 (id {rows[3].id}," in message
    assert "lien rompu (son empreinte précédente ne correspond pas à la trace #3)" in message


def test_it_catches_a_rehashed_last_row_through_the_chain_head() -> None:
    rows = record(3)
    forged = {name: getattr(rows[2], name) for name in FIELDS} | {"granted": False}
    tamper(
        "UPDATE audit_accessevent SET granted = false, hash = %s WHERE chain_seq = 3",
        [digest(forged)],
    )
    message = broken()
    assert message.startswith(f"Chaîne rompue à la trace #3 (id {rows[2].id}, ")
    assert "la tête de chaîne (#3) porte une autre empreinte que cette trace" in message


def test_it_names_the_gap_left_by_a_deleted_row() -> None:
    rows = record(6)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq IN (3, 4)")
    message = broken()
    assert f"à la trace #5 (id {rows[4].id}," in message
    assert "traces manquantes entre #3 et #4" in message


def test_it_detects_a_removed_first_row() -> None:
    record(3)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 1")
    assert "traces manquantes entre #1 et #1" in broken()


def test_it_detects_a_removed_tail_through_the_chain_head() -> None:
    rows = record(5)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq >= 4")
    message = broken()
    assert message.startswith(f"Chaîne rompue après la trace #3 (id {rows[2].id}, ")
    assert "fin de chaîne supprimée, traces #4 à #5 absentes" in message


def test_it_detects_a_whole_trail_removed() -> None:
    record(2)
    tamper("DELETE FROM audit_accessevent")
    assert "fin de chaîne supprimée, traces #1 à #2 absentes" in broken()


def test_it_catches_a_tail_removed_with_its_head_rewritten_through_an_external_anchor() -> None:
    rows = record(5)
    noted = f"5:{rows[-1].hash}"
    tamper("DELETE FROM audit_accessevent WHERE chain_seq >= 4")
    ChainHead.objects.filter(pk=1).update(seq=3, hash=rows[2].hash)
    assert verify().startswith("Chaîne intègre : 3 traces vérifiées")
    message = broken("--anchor", noted)
    assert "la trace #5 notée hors de la base n'existe plus" in message


def test_it_checks_an_external_anchor_against_its_row() -> None:
    rows = record(4)
    assert "Ancre #2 vérifiée." in verify("--anchor", f"2:{rows[1].hash}")
    message = broken("--anchor", f"2:{'a' * 64}")
    assert f"à la trace #2 (id {rows[1].id}," in message
    assert "notée hors de la base" in message


def test_it_names_a_row_inserted_with_a_forged_hash() -> None:
    rows = record(3)
    values = {name: getattr(rows[-1], name) for name in FIELDS}
    with triggers_off() as cursor:
        cursor.execute(
            "INSERT INTO audit_accessevent (id, chain_seq, recorded_at, actor_label, actor_role,"
            " study_instance_uid, action, channel, granted, rule, purpose, prev_hash, hash)"
            " VALUES (999999, 4, %s, 'Intrus', 'practitioner', '', 'read', 'web', true,"
            " 'grant', 'care', %s, %s)",
            [values["recorded_at"], rows[-1].hash, "f" * 64],
        )
        cursor.execute("UPDATE audit_chainhead SET seq = 4, hash = %s", ["f" * 64])
    message = broken()
    assert "à la trace #4 (id 999999," in message
    assert "contenu modifié" in message


def test_it_names_a_well_hashed_row_appended_behind_the_heads_back() -> None:
    rows = record(3)
    values = {name: getattr(rows[-1], name) for name in FIELDS}
    values |= {"chain_seq": 4, "prev_hash": rows[-1].hash, "actor_label": "Intrus"}
    tamper(
        "INSERT INTO audit_accessevent (id, chain_seq, recorded_at, actor_id, actor_label,"
        " actor_role, actor_practitioner_id, patient_id, study_id, study_instance_uid,"
        " establishment_id, action, channel, granted, rule, purpose, grant_id,"
        " break_glass_id, source_ip, prev_hash, hash)"
        " VALUES (999998, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s)",
        [values[name] for name in FIELDS] + [digest(values)],
    )
    message = broken()
    assert "à la trace #4 (id 999998," in message
    assert "au-delà de la tête de chaîne (#3)" in message


def test_it_names_a_row_that_repeats_a_rank() -> None:
    rows = record(3)
    tamper(
        "INSERT INTO audit_accessevent SELECT 999997, chain_seq, recorded_at, actor_id,"
        " 'Copie', actor_role, actor_practitioner_id, patient_id, study_id,"
        " study_instance_uid, establishment_id, action, channel, granted, rule, purpose,"
        " grant_id, break_glass_id, source_ip, prev_hash, hash"
        " FROM audit_accessevent WHERE chain_seq = 2"
    )
    message = broken()
    assert "à la trace #2 (id 999997," in message
    assert "le rang #2 figure déjà dans la chaîne" in message
    assert rows[1].id < 999997


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_accessevent SET granted = false",
        "DELETE FROM audit_accessevent",
        "UPDATE {partition} SET actor_label = 'x'",
        "DELETE FROM {partition}",
    ],
)
def test_it_refuses_updates_and_deletes_in_the_trigger(statement: str) -> None:
    rows = record(2)
    partition = partition_name(rows[0].recorded_at.astimezone(datetime.UTC).date())
    with (
        pytest.raises(DatabaseError, match="ajout seul"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(partition=partition))
    assert verify().startswith("Chaîne intègre : 2 traces vérifiées")


def test_it_refuses_the_orm_editing_or_deleting_a_trace() -> None:
    record(2)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AccessEvent.objects.filter(chain_seq=1).update(actor_label="Personne")
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AccessEvent.objects.filter(chain_seq=2).delete()
    assert AccessEvent.objects.count() == 2


def test_it_hashes_in_python_as_the_trigger_does() -> None:
    ensure_partitions(first=datetime.date(2026, 10, 1), last=datetime.date(2026, 10, 1))
    access_events_record(
        events=[
            event(actor_label="Dr Zoë Ørsted-Çelik 李", purpose="soins – urgence"),
            event(source_ip="2001:DB8:0:0:1::1", study_instance_uid=""),
            event(source_ip="::ffff:198.51.100.7"),
            event(source_ip="fe80::1"),
            event(
                actor_id=None,
                actor_label="",
                patient_id=None,
                study_id=None,
                establishment_id=None,
                source_ip=None,
                granted=False,
                rule="no_right",
            ),
            event(recorded_at=utc(2026, 10, 1, 0, 0, 0), grant_id=12, break_glass_id=34),
        ]
    )
    rows = list(AccessEvent.objects.order_by("chain_seq").values(*CHAIN_COLUMNS))
    assert len(rows) == 6
    assert [row["source_ip"] for row in rows[1:4]] == [
        "2001:db8::1:0:0:1",
        "::ffff:198.51.100.7",
        "fe80::1",
    ]
    for row in rows:
        assert digest(row) == row["hash"], row["chain_seq"]
    assert chain_verify().ok


def test_it_checks_from_a_date_the_rows_from_that_day_on() -> None:
    record_at([utc(2026, 9, 30, 23, 59), utc(2026, 10, 1, 0, 0, 1), utc(2026, 10, 2, 8)])
    tamper("UPDATE audit_accessevent SET actor_label = 'x' WHERE chain_seq = 1")
    assert verify("--from", "2026-10-01").startswith(
        "Chaîne intègre : 2 traces vérifiées, de #2 à #3"
    )
    assert "à la trace #1 " in broken()


def test_it_checks_from_a_date_the_link_to_the_row_before() -> None:
    record_at([utc(2026, 9, 30, 23, 59), utc(2026, 10, 1, 0, 0, 1), utc(2026, 10, 2, 8)])
    tamper("UPDATE audit_accessevent SET hash = %s WHERE chain_seq = 1", ["e" * 64])
    message = broken("--from", "2026-10-01")
    assert "à la trace #2 " in message
    assert "lien rompu" in message


def test_it_sees_from_a_date_a_gap_just_before_that_day() -> None:
    record_at([utc(2026, 9, 29), utc(2026, 9, 30, 23, 59), utc(2026, 10, 1, 0, 0, 1)])
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 2")
    assert "traces manquantes entre #2 et #2" in broken("--from", "2026-10-01")


def test_it_still_checks_the_head_from_a_date_after_the_last_row() -> None:
    record(3)
    assert verify("--from", "2099-01-01").startswith("Chaîne intègre : aucune trace à vérifier")
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 3")
    assert "fin de chaîne supprimée" in broken("--from", "2099-01-01")


@pytest.mark.parametrize("value", ["2026-13-01", "hier", "20261001", "2026-10-1"])
def test_it_refuses_a_malformed_date(value: str) -> None:
    message = broken("--from", value)
    assert message == f"--from attend une date AAAA-MM-JJ (reçu : « {value} »)."


@pytest.mark.parametrize("value", ["5", "0:" + "a" * 64, "3:abc", "x:" + "a" * 64])
def test_it_refuses_a_malformed_anchor(value: str) -> None:
    assert broken("--anchor", value).startswith("--anchor attend RANG:EMPREINTE")


def test_it_walks_the_chain_in_batches() -> None:
    rows = record(7)
    report = chain_verify(batch_size=3)
    assert report.ok
    assert (report.checked, report.last_seq) == (7, 7)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 4")
    report = chain_verify(batch_size=3)
    assert report.broken is not None
    assert report.broken.missing == (4, 4)
    assert report.broken.event_id == rows[4].id


@pytest.mark.django_db(transaction=True)
def test_it_chains_concurrent_writers_into_one_unbroken_chain() -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def write(actor_id: int) -> None:
        try:
            start.wait()
            for index in range(20):
                batch = 1 + index % 3
                access_events_record(events=[event(actor_id=actor_id)] * batch)
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
    seqs = list(AccessEvent.objects.order_by("chain_seq").values_list("chain_seq", flat=True))
    assert seqs == list(range(1, total + 1))
    assert set(AccessEvent.objects.values_list("actor_id", flat=True)) == {1, 2, 3}
    report = chain_verify()
    assert report.ok
    assert (report.checked, report.head_seq) == (total, total)
