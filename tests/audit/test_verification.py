"""verify_audit_chain catches what a database superuser can do to the trail: edit a row, remove
one or the tail, slip one in, move one to another chain or rank, rewrite a head; in any of the
chains, naming the chain and the rank; and the append-only trigger refuses the application's
edits."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.chain import CHAINS, FIELDS, digest
from audit.models import GENESIS_HASH, AccessEvent, ChainHead
from audit.partitions import ensure_partitions, partition_name
from audit.selectors import CHAIN_COLUMNS
from audit.services import access_events_record
from audit.verification import Flaw, chain_verify
from tests.audit.conftest import event, in_chain, record, record_at, tamper, triggers_off, utc

pytestmark = pytest.mark.django_db


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Two chains of the trail for the tests that write to several.
LOW, HIGH = 3, 9


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


def forge(pk: int, values: dict[str, Any], hash_: str | None = None) -> None:
    """A row slipped in past the trigger, with its own hash (by default, the right one)."""
    tamper(
        f"INSERT INTO audit_accessevent (id, {', '.join(FIELDS)}, hash)"  # noqa: S608
        f" VALUES (%s, {', '.join(['%s'] * len(FIELDS))}, %s)",
        [pk, *(values[name] for name in FIELDS), hash_ or digest(values)],
    )


def two_chains() -> tuple[list[AccessEvent], list[AccessEvent]]:
    """Three rows in chain LOW, then two in chain HIGH."""
    in_chain(LOW)
    record(3)
    in_chain(HIGH)
    rows = record(2)
    return [row for row in rows if row.chain == LOW], [row for row in rows if row.chain == HIGH]


def test_it_reports_an_intact_chain_and_its_head() -> None:
    rows = record(5)
    out = verify()
    assert out == (
        "Chaînes intègres : 5 traces vérifiées dans 1 chaîne sur 16. "
        f"Têtes de chaîne : {rows[-1].chain}#5:{rows[-1].hash}."
    )
    assert rows[0].prev_hash == GENESIS_HASH
    assert "\n" not in out


def test_it_reports_an_empty_trail_as_intact() -> None:
    assert verify() == (
        "Chaînes intègres : aucune trace à vérifier. Têtes de chaîne : toutes à l'origine."
    )


def test_it_reports_every_chains_head_in_chain_order() -> None:
    low, high = two_chains()
    assert verify() == (
        "Chaînes intègres : 5 traces vérifiées dans 2 chaînes sur 16. Têtes de chaîne : "
        f"{LOW}#3:{low[-1].hash} {HIGH}#2:{high[-1].hash}."
    )
    report = chain_verify()
    assert [
        (chain.chain, chain.checked, chain.head_seq) for chain in report.chains if chain.checked
    ] == [
        (LOW, 3, 3),
        (HIGH, 2, 2),
    ]
    assert len(report.chains) == CHAINS


def test_it_names_a_row_edited_through_sql_by_a_superuser() -> None:
    rows = record(5)
    tamper("UPDATE audit_accessevent SET granted = NOT granted WHERE chain_seq = 3")
    message = broken()
    assert message.startswith(
        f"Chaîne {rows[2].chain} rompue à la trace #3 (id {rows[2].id}, enregistrée le "
    )
    assert when(rows[2]) in message
    assert "contenu modifié" in message
    report = chain_verify()
    assert report.broken is not None
    assert report.broken.flaw is Flaw.ALTERED
    assert (report.broken.chain, report.broken.event_id) == (rows[2].chain, rows[2].id)


def test_it_names_the_next_row_when_the_edited_row_was_rehashed() -> None:
    rows = record(5)
    forged = {name: getattr(rows[2], name) for name in FIELDS} | {"actor_label": "Quelqu'un"}
    tamper(
        "UPDATE audit_accessevent SET actor_label = %s, hash = %s WHERE chain_seq = 3",
        ["Quelqu'un", digest(forged)],
    )
    message = broken()
    assert message.startswith(f"Chaîne {rows[3].chain} rompue à la trace #4 (id {rows[3].id},")
    assert "lien rompu (son empreinte précédente ne correspond pas à la trace #3)" in message


def test_it_catches_a_rehashed_last_row_through_the_chain_head() -> None:
    rows = record(3)
    forged = {name: getattr(rows[2], name) for name in FIELDS} | {"granted": False}
    tamper(
        "UPDATE audit_accessevent SET granted = false, hash = %s WHERE chain_seq = 3",
        [digest(forged)],
    )
    message = broken()
    assert message.startswith(f"Chaîne {rows[2].chain} rompue à la trace #3 (id {rows[2].id}, ")
    assert "la tête de chaîne (#3) porte une autre empreinte que cette trace" in message


def test_it_names_the_gap_left_by_a_deleted_row() -> None:
    rows = record(6)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq IN (3, 4)")
    message = broken()
    assert message.startswith(f"Chaîne {rows[4].chain} rompue à la trace #5 (id {rows[4].id},")
    assert "traces manquantes entre #3 et #4" in message


def test_it_detects_a_removed_first_row() -> None:
    record(3)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 1")
    assert "traces manquantes entre #1 et #1" in broken()


def test_it_detects_a_removed_tail_through_the_chain_head() -> None:
    rows = record(5)
    tamper("DELETE FROM audit_accessevent WHERE chain_seq >= 4")
    message = broken()
    assert message.startswith(f"Chaîne {rows[2].chain} rompue après la trace #3 (id {rows[2].id}, ")
    assert "fin de chaîne supprimée, traces #4 à #5 absentes" in message


def test_it_detects_a_whole_trail_removed() -> None:
    rows = record(2)
    tamper("DELETE FROM audit_accessevent")
    assert broken() == (
        f"Chaîne {rows[0].chain} rompue : fin de chaîne supprimée, traces #1 à #2 absentes "
        "(la tête de chaîne est au rang #2)."
    )


def test_it_catches_a_tail_removed_with_its_head_rewritten_through_an_external_anchor() -> None:
    rows = record(5)
    chain = rows[0].chain
    noted = f"{chain}#5:{rows[-1].hash}"
    tamper("DELETE FROM audit_accessevent WHERE chain_seq >= 4")
    ChainHead.objects.filter(pk=chain).update(seq=3, hash=rows[2].hash)
    assert verify().startswith("Chaînes intègres : 3 traces vérifiées")
    message = broken("--anchor", noted)
    assert message.startswith(f"Chaîne {chain} rompue : ")
    assert "la trace #5 notée hors de la base n'existe plus" in message


def test_it_checks_an_external_anchor_against_its_row() -> None:
    rows = record(4)
    chain = rows[0].chain
    out = verify("--anchor", f"{chain}#2:{rows[1].hash}")
    assert out.endswith(f"Ancre {chain}#2 vérifiée.")
    message = broken("--anchor", f"{chain}#2:{'a' * 64}")
    assert message.startswith(f"Chaîne {chain} rompue à la trace #2 (id {rows[1].id},")
    assert "notée hors de la base" in message


def test_it_checks_one_anchor_per_chain_as_the_heads_were_printed() -> None:
    low, high = two_chains()
    heads = verify().split("Têtes de chaîne : ")[1].rstrip(".")
    record(1)  # the trail goes on in chain HIGH
    out = verify("--anchor", heads)
    assert out.endswith(f"Ancre {LOW}#3 vérifiée. Ancre {HIGH}#2 vérifiée.")
    assert verify("--anchor", f"{LOW}#1:{low[0].hash}", "--anchor", f"{HIGH}#1:{high[0].hash}")
    message = broken("--anchor", f"{LOW}#3:{low[-1].hash} {HIGH}#2:{low[-1].hash}")
    assert message.startswith(f"Chaîne {HIGH} rompue à la trace #2 (id {high[1].id},")
    assert "son empreinte n'est plus celle notée hors de la base" in message
    assert broken("--anchor", f"{LOW}#3:{low[-1].hash}", "--anchor", f"{LOW}#1:{low[0].hash}") == (
        f"--anchor : deux ancres pour la chaîne {LOW}."
    )


def test_it_names_a_row_inserted_with_a_forged_hash() -> None:
    rows = record(3)
    chain = rows[0].chain
    values = {name: getattr(rows[-1], name) for name in FIELDS}
    with triggers_off() as cursor:
        cursor.execute(
            "INSERT INTO audit_accessevent (id, chain, chain_seq, recorded_at, actor_label,"
            " actor_role, study_instance_uid, action, channel, granted, rule, purpose,"
            " prev_hash, hash) VALUES (999999, %s, 4, %s, 'Intrus', 'practitioner', '', 'read',"
            " 'web', true, 'grant', 'care', %s, %s)",
            [chain, values["recorded_at"], rows[-1].hash, "f" * 64],
        )
        cursor.execute(
            "UPDATE audit_chainhead SET seq = 4, hash = %s WHERE id = %s", ["f" * 64, chain]
        )
    message = broken()
    assert message.startswith(f"Chaîne {chain} rompue à la trace #4 (id 999999,")
    assert "contenu modifié" in message


def test_it_names_a_well_hashed_row_appended_behind_the_heads_back() -> None:
    rows = record(3)
    values = {name: getattr(rows[-1], name) for name in FIELDS}
    values |= {"chain_seq": 4, "prev_hash": rows[-1].hash, "actor_label": "Intrus"}
    forge(999998, values)
    message = broken()
    assert message.startswith(f"Chaîne {rows[0].chain} rompue à la trace #4 (id 999998,")
    assert "au-delà de la tête de chaîne (#3)" in message


def test_it_names_a_row_that_repeats_a_rank() -> None:
    rows = record(3)
    tamper(
        f"INSERT INTO audit_accessevent (id, {', '.join(FIELDS)}, hash)"  # noqa: S608
        f" SELECT 999997, {', '.join(FIELDS).replace('actor_label', quote('Copie'))}, hash"
        " FROM audit_accessevent WHERE chain_seq = 2"
    )
    message = broken()
    assert message.startswith(f"Chaîne {rows[1].chain} rompue à la trace #2 (id 999997,")
    assert "le rang #2 figure déjà dans la chaîne" in message
    assert rows[1].id < 999997


def test_it_names_the_broken_chain_and_checks_the_others() -> None:
    low, _high = two_chains()
    tamper("DELETE FROM audit_accessevent WHERE chain = %s AND chain_seq = 2", [LOW])
    message = broken()
    assert message.startswith(f"Chaîne {LOW} rompue à la trace #3 (id {low[2].id},")
    assert "traces manquantes entre #2 et #2" in message
    report = chain_verify()
    assert report.chain(HIGH).ok
    assert report.chain(HIGH).checked == 2
    assert [found.chain for found in report.breaks] == [LOW]


def test_it_names_every_broken_chain_first_the_lowest() -> None:
    low, high = two_chains()
    tamper("UPDATE audit_accessevent SET granted = false WHERE chain = %s", [HIGH])
    tamper("DELETE FROM audit_accessevent WHERE chain = %s AND chain_seq = 3", [LOW])
    message = broken()
    assert message.startswith(f"Chaîne {LOW} rompue après la trace #2 (id {low[1].id},")
    assert message.endswith(f"Également rompues : {HIGH}.")
    report = chain_verify()
    assert [(found.chain, found.flaw) for found in report.breaks] == [
        (LOW, Flaw.TAIL_REMOVED),
        (HIGH, Flaw.ALTERED),
    ]
    assert report.chain(HIGH).broken is not None
    assert report.chain(HIGH).broken.event_id == high[0].id


def test_it_names_a_row_forged_into_another_chain() -> None:
    low, high = two_chains()
    # A copy of a row of LOW, well hashed, as the first link of a chain that never had one.
    values = {name: getattr(low[0], name) for name in FIELDS} | {"chain": 12}
    forge(999996, values)
    message = broken()
    assert message.startswith("Chaîne 12 rompue à la trace #1 (id 999996,")
    assert "au-delà de la tête de chaîne (#0)" in message
    tamper("DELETE FROM audit_accessevent WHERE id = 999996")
    # Chained after the last row of HIGH, with a hash of its own.
    values = {name: getattr(low[0], name) for name in FIELDS}
    values |= {"chain": HIGH, "chain_seq": 3, "prev_hash": high[-1].hash}
    forge(999995, values, "c" * 64)
    message = broken()
    assert message.startswith(f"Chaîne {HIGH} rompue à la trace #3 (id 999995,")
    assert "contenu modifié" in message


def test_it_names_a_row_moved_to_another_chain() -> None:
    low, _high = two_chains()
    tamper("UPDATE audit_accessevent SET chain = %s WHERE id = %s", [HIGH, low[1].id])
    tamper("UPDATE audit_accessevent SET chain_seq = 3 WHERE id = %s", [low[1].id])
    message = broken()
    assert message.startswith(f"Chaîne {LOW} rompue à la trace #3 (id {low[2].id},")
    assert "traces manquantes entre #2 et #2" in message
    report = chain_verify()
    assert report.chain(HIGH).broken is not None
    assert report.chain(HIGH).broken.flaw is Flaw.ALTERED
    assert report.chain(HIGH).broken.event_id == low[1].id


def test_it_names_a_row_re_ranked_within_its_chain() -> None:
    rows = record(4)
    tamper("UPDATE audit_accessevent SET chain_seq = 5 WHERE chain_seq = 3")
    tamper("UPDATE audit_accessevent SET chain_seq = 3 WHERE chain_seq = 4")
    tamper("UPDATE audit_accessevent SET chain_seq = 4 WHERE chain_seq = 5")
    message = broken()
    assert message.startswith(f"Chaîne {rows[3].chain} rompue à la trace #3 (id {rows[3].id},")
    assert "contenu modifié" in message


@pytest.mark.parametrize(
    ("change", "flaw", "expected"),
    [
        ("hash = %s", Flaw.HEAD_MISMATCH, "la tête de chaîne (#2) porte une autre empreinte"),
        ("seq = 4", Flaw.TAIL_REMOVED, "fin de chaîne supprimée, traces #3 à #4 absentes"),
        ("seq = 1", Flaw.BEYOND_HEAD, "trace au-delà de la tête de chaîne (#1)"),
    ],
)
def test_it_catches_a_rewritten_head(change: str, flaw: Flaw, expected: str) -> None:
    two_chains()
    params = ["e" * 64] if "%s" in change else []
    tamper(f"UPDATE audit_chainhead SET {change} WHERE id = %s", [*params, HIGH])  # noqa: S608
    report = chain_verify()
    assert report.chain(LOW).ok
    assert report.broken is not None
    assert (report.broken.chain, report.broken.flaw) == (HIGH, flaw)
    assert expected in broken()


def test_it_names_a_row_outside_the_chains() -> None:
    rows = record(2)
    values = {name: getattr(rows[0], name) for name in FIELDS} | {"chain": CHAINS + 1}
    tamper("ALTER TABLE audit_accessevent DROP CONSTRAINT audit_event_chain_range")
    forge(999994, values)
    assert broken() == (
        "Trace des accès rompue : la trace id 999994 (rang #1) porte le numéro de chaîne 17, "
        "hors des chaînes 1 à 16 (trace ajoutée hors du déclencheur)."
    )
    assert chain_verify().chain(rows[0].chain).ok


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
    assert verify().startswith("Chaînes intègres : 2 traces vérifiées")


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
    assert {row["chain"] for row in rows} == {rows[0]["chain"]}
    for row in rows:
        assert digest(row) == row["hash"], row["chain_seq"]
        assert digest(row | {"chain": row["chain"] % CHAINS + 1}) != row["hash"]
    assert chain_verify().ok


def test_it_checks_from_a_date_the_rows_from_that_day_on() -> None:
    record_at([utc(2026, 9, 30, 23, 59), utc(2026, 10, 1, 0, 0, 1), utc(2026, 10, 2, 8)])
    tamper("UPDATE audit_accessevent SET actor_label = 'x' WHERE chain_seq = 1")
    assert verify("--from", "2026-10-01").startswith("Chaînes intègres : 2 traces vérifiées")
    report = chain_verify(since=datetime.date(2026, 10, 1))
    (walked,) = [chain for chain in report.chains if chain.checked]
    assert (walked.checked, walked.first_seq, walked.last_seq) == (2, 2, 3)
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
    assert verify("--from", "2099-01-01").startswith("Chaînes intègres : aucune trace à vérifier")
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 3")
    assert "fin de chaîne supprimée" in broken("--from", "2099-01-01")


@pytest.mark.parametrize("value", ["2026-13-01", "hier", "20261001", "2026-10-1"])
def test_it_refuses_a_malformed_date(value: str) -> None:
    message = broken("--from", value)
    assert message == f"--from attend une date AAAA-MM-JJ (reçu : « {value} »)."


@pytest.mark.parametrize(
    "value",
    [
        "5",
        "1#0:" + "a" * 64,
        "1#3:abc",
        "x#1:" + "a" * 64,
        "3:" + "a" * 64,
        "0#1:" + "a" * 64,
        "17#1:" + "a" * 64,
        "1#1:" + "a" * 64 + " 2#2",
    ],
)
def test_it_refuses_a_malformed_anchor(value: str) -> None:
    assert broken("--anchor", value) == (
        "--anchor attend CHAÎNE#RANG:EMPREINTE, la chaîne de 1 à 16, le rang à partir de 1, "
        f"l'empreinte en 64 caractères hexadécimaux (reçu : « {value} »)."
    )


def test_it_walks_the_chain_in_batches() -> None:
    rows = record(7)
    report = chain_verify(batch_size=3)
    assert report.ok
    assert report.checked == 7
    assert report.chain(rows[0].chain).last_seq == 7
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 4")
    report = chain_verify(batch_size=3)
    assert report.broken is not None
    assert report.broken.missing == (4, 4)
    assert report.broken.event_id == rows[4].id
