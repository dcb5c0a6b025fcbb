"""audit_retention exports whole past months, then drops their partitions and records it; each
chain still verifies from its recorded anchor."""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.chain import FIELDS
from audit.models import AccessEvent, RetentionAnchor, RetentionRun
from audit.partitions import (
    add_months,
    ensure_partitions,
    month_start,
    partition_name,
    partitions,
)
from audit.retention import retention_apply, retention_cutoff
from audit.selectors import COLUMNS, partition_health, partition_readiness
from audit.verification import chain_verify
from tests.audit.conftest import in_chain, record, record_at, session_chain, tamper

pytestmark = pytest.mark.django_db

THIS_MONTH = month_start(datetime.datetime.now(datetime.UTC).date())
# Two months just past a 12-month retention, and one just inside it.
OLDEST = add_months(THIS_MONTH, -14)
OLDER = add_months(THIS_MONTH, -13)
KEPT = add_months(THIS_MONTH, -12)


def at(month: datetime.date, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(month.year, month.month, day, hour, tzinfo=datetime.UTC)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("audit_retention", *args, stdout=out)
    return out.getvalue().strip()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def read_export(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as exported:
        return list(csv.reader(exported))


def exported_rows(path: Path) -> list[dict[str, str]]:
    header, *rows = read_export(path)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def trail() -> None:
    """Three rows in the oldest month, two in the next, one kept month, two this month."""
    record_at(
        [at(OLDEST, 3), at(OLDEST, 17), at(OLDEST, 28, 23), at(OLDER, 1, 0), at(OLDER, 30)],
        actor_label="Dr Éloïse Ñúñez",
    )
    record_at([at(KEPT, 15)])
    record(2)


def test_it_exports_then_drops_the_months_past_retention(trail: None, tmp_path: Path) -> None:
    chain = session_chain()
    out = run("--months", "12", "--export-dir", str(tmp_path)).splitlines()
    oldest_path = tmp_path / f"audit-{OLDEST:%Y-%m}.csv.gz"
    assert out[0].startswith(f"{OLDEST:%Y-%m} : 3 traces exportées dans {oldest_path} (SHA-256 ")
    assert out[0].endswith(
        f"partition audit_accessevent_p{OLDEST:%Y%m} supprimée (chaîne {chain} : rangs #1 à #3)."
    )
    assert out[1].startswith(f"{OLDER:%Y-%m} : 2 traces exportées")
    assert out[2] == (
        f"2 mois purgés, 5 traces exportées (conservation 12 mois, avant le {KEPT:%Y-%m-%d})."
    )

    assert read_export(oldest_path)[0] == list(COLUMNS)
    rows = exported_rows(oldest_path)
    assert [(row["chain"], row["chain_seq"]) for row in rows] == [
        (str(chain), "1"),
        (str(chain), "2"),
        (str(chain), "3"),
    ]
    assert {row["actor_label"] for row in rows} == {"Dr Éloïse Ñúñez"}
    assert rows[0]["recorded_at"] == f"{OLDEST:%Y-%m}-03T12:00:00.000000"
    # Each exported row's hash can be recomputed from the file alone.
    for row in rows:
        canonical = "\x1f".join(row[name] for name in FIELDS)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["hash"]

    months = {partition.month for partition in partitions()}
    assert OLDEST not in months
    assert OLDER not in months
    assert KEPT in months
    assert list(AccessEvent.objects.order_by("chain_seq").values_list("chain_seq", flat=True)) == [
        6,
        7,
        8,
    ]

    oldest, older = RetentionRun.objects.order_by("month")
    assert (oldest.month, oldest.row_count) == (OLDEST, 3)
    anchor = oldest.anchors.get()
    assert (anchor.chain, anchor.row_count, anchor.first_seq, anchor.last_seq) == (chain, 3, 1, 3)
    assert anchor.last_hash == rows[-1]["hash"]
    assert oldest.partition == f"audit_accessevent_p{OLDEST:%Y%m}"
    assert oldest.export_sha256 == hashlib.sha256(oldest_path.read_bytes()).hexdigest()
    assert oldest.export_sha256 in out[0]
    assert oldest_path.stat().st_mode & 0o777 == 0o600
    assert oldest.retention_months == 12
    (older_anchor,) = older.anchors.all()
    assert (older_anchor.first_seq, older_anchor.last_seq) == (4, 5)
    assert older_anchor.last_hash == exported_rows(Path(older.export_path))[-1]["hash"]

    report = chain_verify()
    assert report.ok
    assert report.checked == 3
    kept = report.chain(chain)
    assert (kept.checked, kept.first_seq, kept.last_seq) == (3, 6, 8)


def test_it_leaves_a_chain_that_verifies_and_still_catches_a_removed_first_row(
    trail: None, tmp_path: Path
) -> None:
    run("--export-dir", str(tmp_path))
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert out.getvalue().startswith("Chaînes intègres : 3 traces vérifiées dans 1 chaîne sur 16.")
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 6")
    with pytest.raises(CommandError, match="traces manquantes entre #6 et #6"):
        call_command("verify_audit_chain")


def test_it_leaves_an_anchor_the_first_remaining_row_must_point_at(
    trail: None, tmp_path: Path
) -> None:
    run("--export-dir", str(tmp_path))
    RetentionAnchor.objects.filter(run__month=OLDER).update(last_hash="b" * 64)
    message = str(chain_verify().broken)
    assert message.startswith(f"Chaîne {session_chain()} rompue à la trace #6 ")
    assert f"l'ancre de la purge de {OLDER:%Y-%m}" in message


def test_it_anchors_each_chain_of_a_purged_month(tmp_path: Path) -> None:
    low, high = 3, 9
    in_chain(low)
    record_at([at(OLDEST, 3), at(OLDEST, 4), at(OLDER, 5), at(KEPT, 6)])
    in_chain(high)
    record_at([at(OLDEST, 7), at(KEPT, 8), at(KEPT, 9)])
    out = run("--export-dir", str(tmp_path)).splitlines()
    assert out[0].endswith(f"(chaîne {low} : rangs #1 à #2 ; chaîne {high} : rangs #1 à #1).")
    oldest = RetentionRun.objects.get(month=OLDEST)
    assert oldest.row_count == 3
    assert [(a.chain, a.row_count, a.first_seq, a.last_seq) for a in oldest.anchors.all()] == [
        (low, 2, 1, 2),
        (high, 1, 1, 1),
    ]
    rows = exported_rows(Path(oldest.export_path))
    assert [(row["chain"], row["chain_seq"]) for row in rows] == [
        (str(low), "1"),
        (str(low), "2"),
        (str(high), "1"),
    ]
    report = chain_verify()
    assert report.ok
    assert (report.chain(low).first_seq, report.chain(high).first_seq) == (4, 2)
    # Each chain's first remaining row is checked against its own anchor.
    RetentionAnchor.objects.filter(run=oldest, chain=high).update(last_hash="b" * 64)
    report = chain_verify()
    assert report.chain(low).ok
    assert report.broken is not None
    assert report.broken.chain == high
    assert f"l'ancre de la purge de {OLDEST:%Y-%m}" in str(report.broken)
    RetentionAnchor.objects.filter(run=oldest, chain=high).update(last_hash=rows[-1]["hash"])
    assert chain_verify().ok
    tamper("DELETE FROM audit_accessevent WHERE chain = %s AND chain_seq = 2", [high])
    message = str(chain_verify().broken)
    assert message.startswith(f"Chaîne {high} rompue à la trace #3 ")
    assert "traces manquantes entre #2 et #2" in message


def test_it_purges_nothing_new_when_run_twice(trail: None, tmp_path: Path) -> None:
    run("--export-dir", str(tmp_path))
    exported = sorted(tmp_path.iterdir())
    assert run("--export-dir", str(tmp_path)) == (
        f"Aucun mois à purger (conservation 12 mois : rien avant le {KEPT:%Y-%m-%d})."
    )
    assert RetentionRun.objects.count() == 2
    assert sorted(tmp_path.iterdir()) == exported
    assert AccessEvent.objects.count() == 3


def test_it_changes_nothing_in_a_dry_run(trail: None, tmp_path: Path) -> None:
    chain = session_chain()
    out = run("--dry-run", "--export-dir", str(tmp_path / "exports")).splitlines()
    assert out == [
        f"{OLDEST:%Y-%m} : 3 traces seraient exportées puis purgées "
        f"(chaîne {chain} : rangs #1 à #3).",
        f"{OLDER:%Y-%m} : 2 traces seraient exportées puis purgées "
        f"(chaîne {chain} : rangs #4 à #5).",
        f"Simulation : 2 mois (5 traces) seraient exportés puis purgés (conservation 12 mois, "
        f"avant le {KEPT:%Y-%m-%d}) ; rien n'a été modifié.",
    ]
    assert not (tmp_path / "exports").exists()
    assert AccessEvent.objects.count() == 8
    assert not RetentionRun.objects.exists()
    assert OLDEST in {partition.month for partition in partitions()}


def test_it_purges_more_months_with_a_shorter_retention(trail: None, tmp_path: Path) -> None:
    run("--months", "13", "--export-dir", str(tmp_path))
    assert list(RetentionRun.objects.values_list("month", flat=True)) == [OLDEST]
    run("--months", "12", "--export-dir", str(tmp_path))
    assert list(RetentionRun.objects.values_list("month", flat=True)) == [OLDER, OLDEST]
    assert chain_verify().ok


def test_it_drops_and_records_an_empty_past_partition(tmp_path: Path) -> None:
    ensure_partitions(first=OLDEST, last=OLDEST)
    record(1)
    assert f"{OLDEST:%Y-%m} : 0 traces exportées dans" in run("--export-dir", str(tmp_path))
    purge = RetentionRun.objects.get(month=OLDEST)
    assert purge.row_count == 0
    assert not purge.anchors.exists()
    assert read_export(Path(purge.export_path)) == [list(COLUMNS)]
    assert chain_verify().ok


def test_it_refuses_a_month_purged_before(trail: None, tmp_path: Path) -> None:
    run("--export-dir", str(tmp_path))
    record_at([at(OLDER, 12)])
    message = refused("--export-dir", str(tmp_path))
    assert message.startswith(f"Le mois {OLDER:%Y-%m} a déjà été purgé")
    assert RetentionRun.objects.count() == 2


def test_it_keeps_a_month_whose_chain_is_broken(trail: None, tmp_path: Path) -> None:
    tamper("UPDATE audit_accessevent SET granted = false WHERE chain_seq = 2")
    message = refused("--export-dir", str(tmp_path))
    assert message.startswith(
        f"La chaîne {session_chain()} est rompue en {OLDEST:%Y-%m} (trace #2)"
    )
    assert AccessEvent.objects.count() == 8
    assert not RetentionRun.objects.exists()
    assert not list(tmp_path.iterdir())


def test_it_records_nothing_when_the_drop_fails_and_says_the_export_remains(
    trail: None, tmp_path: Path
) -> None:
    with connection.cursor() as cursor:
        # Something else depends on the partition: DROP TABLE fails.
        cursor.execute(f"CREATE VIEW audit_hold AS SELECT * FROM {partition_name(OLDER)}")  # noqa: S608
    message = refused("--export-dir", str(tmp_path))
    older_path = tmp_path / f"audit-{OLDER:%Y-%m}.csv.gz"
    assert message.startswith(f"La purge de {OLDER:%Y-%m} a échoué (")
    assert f"l'export {older_path} reste sur le disque" in message
    assert older_path.exists()
    assert list(RetentionRun.objects.values_list("month", flat=True)) == [OLDEST]
    assert OLDER in {partition.month for partition in partitions()}
    assert AccessEvent.objects.count() == 5
    assert chain_verify().ok


def test_it_handles_a_month_boundary_interleaved_by_concurrent_writers(
    tmp_path: Path,
) -> None:
    # A row stamped just before midnight UTC reaches the chain after one stamped just after.
    record_at(
        [
            at(OLDEST, 10),
            datetime.datetime(OLDER.year, OLDER.month, 1, 0, 0, 0, 1000, tzinfo=datetime.UTC),
            at(OLDEST, 28, 23).replace(minute=59, second=59, microsecond=999000),
            at(OLDER, 2),
        ]
    )
    record(1)
    retention_apply(months=13, export_dir=tmp_path)
    anchor = RetentionAnchor.objects.get()
    assert (anchor.first_seq, anchor.last_seq, anchor.row_count) == (1, 3, 2)
    assert anchor.run.row_count == 2
    assert chain_verify().ok
    tamper("DELETE FROM audit_accessevent WHERE chain_seq = 2")
    report = chain_verify()
    assert report.broken is not None
    assert "traces manquantes dans la plage purgée #1 à #3" in str(report.broken)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--months", "douze"], "--months attend un nombre entier de mois, au moins 1"),
        (["--months", "0"], "--months attend un nombre entier de mois, au moins 1"),
        (["--months", "-3"], "--months attend un nombre entier de mois, au moins 1"),
    ],
)
def test_it_refuses_bad_arguments(args: list[str], expected: str, tmp_path: Path) -> None:
    assert refused(*args, "--export-dir", str(tmp_path)).startswith(expected)


def test_it_refuses_an_export_dir_that_is_a_file(trail: None, tmp_path: Path) -> None:
    target = tmp_path / "fichier"
    target.write_text("")
    assert refused("--export-dir", str(target)) == f"--export-dir n'est pas un dossier : {target}"
    assert AccessEvent.objects.count() == 8


def test_it_cuts_off_on_the_first_of_the_month_n_months_back() -> None:
    assert retention_cutoff(months=12, today=datetime.date(2026, 11, 22)) == datetime.date(
        2025, 11, 1
    )
    assert retention_cutoff(months=1, today=datetime.date(2026, 1, 31)) == datetime.date(
        2025, 12, 1
    )


def test_it_reports_whether_next_months_partition_exists() -> None:
    far = datetime.date(2031, 5, 20)
    readiness = partition_readiness(today=far)
    assert readiness.partitioned
    assert not readiness.ok
    assert readiness.next_partition == "audit_accessevent_p203106"
    ensure_partitions(first=far, last=far)
    readiness = partition_readiness(today=far)
    assert readiness.current_ready
    assert not readiness.next_ready
    ensure_partitions(first=datetime.date(2031, 6, 1), last=datetime.date(2031, 6, 1))
    assert partition_readiness(today=far).ok
    assert partition_readiness().ok


def test_it_reports_partition_health_for_the_health_endpoint() -> None:
    health = partition_health()
    assert health["ok"] is True
    assert health["next_month_ready"] is True
    assert health["next_month"] == f"{add_months(THIS_MONTH, 1):%Y-%m}"
