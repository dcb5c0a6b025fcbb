"""The archive sync against a real Orthanc (Debian's package), fed with pydicom instances."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier, PatientLinkEvent
from imaging.orthanc import OrthancCredentialsError, OrthancUnreachable
from imaging.sync import fetch_study, source_reconcile, source_sync, write_page
from tests.factories import EstablishmentFactory
from tests.imaging.orthanc_lab import closed_port_url

pytestmark = pytest.mark.django_db

# A valid INS (key 97 - n mod 97), fictitious, from DOMAIN.md's example.
INS = "295109912611193"


def _index() -> list[tuple[str, str, str]]:
    """(StudyInstanceUID, issuer FINESS, PatientID) of every study, sorted."""
    return sorted(
        ImagingStudy.objects.values_list(
            "study_instance_uid",
            "patient_identifier__establishment__finess_eg",
            "patient_identifier__patient_id",
        )
    )


def test_it_indexes_several_patients_with_several_studies(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    ids = []
    uids = {}
    for patient_id, name in [
        ("P-001", "LEFÈVRE^Chloé"),
        ("P-002", "D'ARTAGNAN^Hélène-Françoise^Marie"),
        ("P-003", "NGUYỄN^Thị Minh"),
    ]:
        for day in ("20240105", "20240612"):
            uid, study_id = put_study(
                archive_a,
                patient_id=patient_id,
                patient_name=name,
                study_date=day,
                accession_number=f"A{patient_id}{day}",
                description="Scanner thoraco-abdominal",
            )
            ids.append(study_id)
            uids[uid] = (patient_id, name)
    report_uid, report_id = put_study(
        archive_a, patient_id="P-001", patient_name="LEFÈVRE^Chloé", series=[("CT", 2), ("SR", 1)]
    )
    ids.append(report_id)
    last = archive_a.wait_stable(ids)

    report = source_sync(source=source)

    assert report.done
    assert report.studies_upserted == 7
    assert report.patients_created == 3
    source.refresh_from_db()
    assert source.cursor >= last
    assert source.cursor == archive_a.last_seq()
    assert source.state == ArchiveSource.State.IDLE
    assert source.last_success_at is not None
    assert source.last_error == ""
    assert ImagingStudy.objects.count() == 7
    assert Patient.objects.count() == 3
    for uid, (patient_id, name) in uids.items():
        study = ImagingStudy.objects.select_related("patient", "patient_identifier").get(
            study_instance_uid=uid
        )
        assert study.patient_identifier.patient_id == patient_id
        assert study.patient.patient_name == name  # as given: accents and carets kept
        assert study.establishment_id == source.establishment_id
        assert study.source_id == source.pk
        assert study.modalities == "CT"
        assert study.study_description == "Scanner thoraco-abdominal"
        assert study.study_time == datetime.time(10, 15)
        assert study.patient.patient_birth_date == datetime.date(1962, 4, 17)
    assert Patient.objects.get(identifiers__patient_id="P-002").display_name == (
        "Hélène-Françoise Marie D'ARTAGNAN"
    )
    with_report = ImagingStudy.objects.get(study_instance_uid=report_uid)
    assert (with_report.series_count, with_report.instance_count) == (2, 3)
    assert set(with_report.modality_list) == {"CT", "SR"}
    assert with_report.report_available
    assert ImagingStudy.objects.filter(report_available=True).count() == 1


def test_it_keeps_one_patient_id_at_two_establishments_as_two_patients(
    archive_a, archive_b, connect, put_study
) -> None:
    nancy = connect(archive_a)
    metz = connect(archive_b)
    _uid_a, id_a = put_study(archive_a, patient_id="12345", patient_name="MARTIN^Paul")
    _uid_b, id_b = put_study(archive_b, patient_id="12345", patient_name="BERNARD^Lucie")
    archive_a.wait_stable([id_a])
    archive_b.wait_stable([id_b])

    source_sync(source=nancy)
    source_sync(source=metz)

    identifiers = PatientIdentifier.objects.filter(patient_id="12345")
    assert identifiers.count() == 2
    assert identifiers.values("patient_record").distinct().count() == 2
    assert Patient.objects.count() == 2
    assert {p.patient_name for p in Patient.objects.all()} == {"MARTIN^Paul", "BERNARD^Lucie"}


def test_it_links_two_establishments_records_by_ins(
    archive_a, archive_b, connect, put_study
) -> None:
    nancy = connect(archive_a)
    metz = connect(archive_b)
    _uid, id_a = put_study(archive_a, patient_id="NAN-77", patient_name="DURAND^Hélène", ins=INS)
    _uid, id_b = put_study(archive_b, patient_id="MTZ-12", patient_name="DURAND^HELENE", ins=INS)
    _uid, id_c = put_study(archive_b, patient_id="MTZ-99", patient_name="AUTRE^Personne")
    archive_a.wait_stable([id_a])
    archive_b.wait_stable([id_b, id_c])

    source_sync(source=nancy)
    report = source_sync(source=metz)

    helene = Patient.objects.get(ins=INS)
    assert helene.identifiers.count() == 2
    assert helene.studies.count() == 2
    assert helene.patient_name == "DURAND^Hélène"  # the first archive's version stays
    assert PatientIdentifier.objects.get(patient_id="MTZ-12").patient_name == "DURAND^HELENE"
    assert report.ins_links == 1
    assert PatientLinkEvent.objects.filter(
        action=PatientLinkEvent.Action.INS_LINK, patient_pk=helene.pk
    ).exists()
    assert Patient.objects.count() == 2


def test_it_links_by_ins_a_record_the_index_already_knew(
    archive_a, archive_b, connect, put_study
) -> None:
    nancy = connect(archive_a)
    metz = connect(archive_b)
    _uid, id_b = put_study(archive_b, patient_id="MTZ-12", patient_name="DURAND^Hélène")
    archive_b.wait_stable([id_b])
    source_sync(source=metz)  # known at Metz without INS first
    since = archive_b.last_seq()
    _uid, id_a = put_study(archive_a, patient_id="NAN-77", patient_name="DURAND^Hélène", ins=INS)
    _uid, id_b2 = put_study(archive_b, patient_id="MTZ-12", patient_name="DURAND^Hélène", ins=INS)
    archive_a.wait_stable([id_a])
    archive_b.wait_stable([id_b2], since=since)
    source_sync(source=nancy)  # Nancy brings the INS first...

    source_sync(source=metz)  # ...then Metz's record, now with the INS, joins it

    helene = Patient.objects.get(ins=INS)
    assert sorted(helene.identifiers.values_list("patient_id", flat=True)) == ["MTZ-12", "NAN-77"]
    assert helene.studies.count() == 3
    retired = Patient.objects.exclude(pk=helene.pk).get()
    assert retired.merged_into == helene
    assert not retired.identifiers.exists()


def test_it_ignores_and_reports_an_invalid_ins(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    uid, study_id = put_study(archive_a, patient_id="X1", ins="295109912611194")  # wrong key
    archive_a.wait_stable([study_id])

    report = source_sync(source=source)

    assert Patient.objects.get().ins is None
    assert {
        "code": "invalid_ins",
        "study": uid,
        "tag": "OtherPatientIDsSequence",
        "detail": "",
    } in (report.findings)


# pydicom warns while writing the malformed values on purpose.
@pytest.mark.filterwarnings("ignore:Invalid value for VR", "ignore:The value length")
def test_it_stores_malformed_tags_as_best_it_can_and_reports_them(
    archive_a, connect, put_study
) -> None:
    source = connect(archive_a)
    long_description = "Très longue description " * 250  # 6,000 characters
    uid, study_id = put_study(
        archive_a,
        patient_id="M-1",
        study_date="",
        study_time="99h",
        birth_date="",
        description=long_description,
        series=[("XYZ", 1), ("MR", 1)],
    )
    other_uid, other_id = put_study(archive_a, patient_id="M-2", study_date="20241301")
    archive_a.wait_stable([study_id, other_id])

    report = source_sync(source=source)

    assert report.done
    study = ImagingStudy.objects.get(study_instance_uid=uid)
    assert study.study_date is None
    assert study.study_time is None
    assert len(study.study_description) == 4000
    assert set(study.modality_list) == {"XYZ", "MR"}
    assert study.patient.patient_birth_date is None
    assert ImagingStudy.objects.get(study_instance_uid=other_uid).study_date is None
    codes = {(finding["code"], finding["study"]) for finding in report.findings}
    assert ("missing_study_date", uid) in codes
    assert ("invalid_time", uid) in codes
    assert ("too_long", uid) in codes
    assert ("unknown_modality", uid) in codes
    assert ("invalid_date", other_uid) in codes
    source.refresh_from_db()
    assert source.last_report["findings_total"] == report.findings_total >= 5


def test_it_changes_nothing_when_replayed(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    ids = [put_study(archive_a, patient_id=f"R-{n % 2}")[1] for n in range(4)]
    archive_a.wait_stable(ids)
    source_sync(source=source)
    before = list(ImagingStudy.objects.order_by("pk").values())
    patients = list(Patient.objects.order_by("pk").values_list("pk", "patient_name"))
    end = ArchiveSource.objects.get(pk=source.pk).cursor

    ArchiveSource.objects.filter(pk=source.pk).update(cursor=0)  # replay the whole feed
    source.refresh_from_db()
    source_sync(source=source)

    after = list(ImagingStudy.objects.order_by("pk").values())
    strip = {"updated_at", "seen_at"}
    assert [{k: v for k, v in row.items() if k not in strip} for row in after] == [
        {k: v for k, v in row.items() if k not in strip} for row in before
    ]
    assert list(Patient.objects.order_by("pk").values_list("pk", "patient_name")) == patients
    assert ArchiveSource.objects.get(pk=source.pk).cursor == end


def test_a_run_killed_mid_page_loses_nothing_and_the_replay_is_exact(
    archive_a, connect, put_study
) -> None:
    source = connect(archive_a)
    ids = [put_study(archive_a, patient_id=f"K-{n}")[1] for n in range(6)]
    archive_a.wait_stable(ids)
    pages = []

    def crash_on_second_page(stage: str, count: int) -> None:
        if stage == "studies":
            pages.append(count)
            if len(pages) == 2:
                raise RuntimeError("worker killed")

    # Each study makes 7 changes (New*/Stable* of instance, series, study, patient).
    with pytest.raises(RuntimeError, match="worker killed"):
        source_sync(source=source, page_size=14, stage_hook=crash_on_second_page)

    source.refresh_from_db()
    first_page = archive_a.client().changes(since=0, limit=14)
    assert source.cursor == first_page.last  # the committed page, not a change more
    committed = ImagingStudy.objects.count()
    assert committed == pages[0]
    assert PatientIdentifier.objects.count() == committed  # the crashed page left nothing
    assert source.state == ArchiveSource.State.FAILED

    report = source_sync(source=source, page_size=14)

    assert report.done
    source.refresh_from_db()
    assert source.cursor == archive_a.last_seq()
    assert ImagingStudy.objects.count() == 6
    assert PatientIdentifier.objects.count() == 6
    assert Patient.objects.count() == 6
    assert sorted(ImagingStudy.objects.values_list("archive_id", flat=True)) == sorted(ids)
    assert source.state == ArchiveSource.State.IDLE
    assert source.last_error == ""


def test_it_records_an_unreachable_archive_then_recovers(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    _uid, study_id = put_study(archive_a, patient_id="D-1")
    archive_a.wait_stable([study_id])
    archive_a.stop(hard=True)

    with pytest.raises(OrthancUnreachable):
        source_sync(source=source)

    source.refresh_from_db()
    assert source.state == ArchiveSource.State.FAILED
    assert source.last_error_kind == ArchiveSource.ErrorKind.UNREACHABLE
    assert "injoignable" in source.last_error
    assert source.failure_count == 1
    assert source.next_attempt_at > timezone.now() + datetime.timedelta(seconds=50)
    assert source.cursor == 0

    with pytest.raises(OrthancUnreachable):
        source_sync(source=source)
    source.refresh_from_db()
    assert source.failure_count == 2  # the backoff doubles
    assert source.next_attempt_at > timezone.now() + datetime.timedelta(seconds=110)

    archive_a.start()
    report = source_sync(source=source)

    assert report.done
    source.refresh_from_db()
    assert source.state == ArchiveSource.State.IDLE
    assert (source.last_error, source.failure_count, source.next_attempt_at) == ("", 0, None)
    assert ImagingStudy.objects.filter(archive_id=study_id).exists()


def test_it_reports_a_closed_port_as_unreachable(connect, archive_a) -> None:
    source = connect(archive_a, base_url=closed_port_url())

    with pytest.raises(OrthancUnreachable):
        source_sync(source=source)

    source.refresh_from_db()
    assert source.last_error_kind == ArchiveSource.ErrorKind.UNREACHABLE


def test_it_reports_bad_credentials_clearly(archive_a, connect) -> None:
    source = connect(archive_a, password="not-the-password")

    with pytest.raises(OrthancCredentialsError):
        source_sync(source=source)

    source.refresh_from_db()
    assert source.last_error_kind == ArchiveSource.ErrorKind.CREDENTIALS
    assert "refuse les identifiants" in source.last_error
    assert "not-the-password" not in source.last_error


def test_reconciliation_marks_studies_deleted_in_the_archive(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    _kept_uid, kept = put_study(archive_a, patient_id="C-1")
    gone_uid, gone = put_study(archive_a, patient_id="C-2")
    archive_a.wait_stable([kept, gone])
    source_sync(source=source)
    archive_a.client().delete_study(gone)

    report = source_reconcile(source=source)

    assert report.studies_deleted == 1
    assert ImagingStudy.objects.get(study_instance_uid=gone_uid).deleted_at is not None
    assert ImagingStudy.objects.get(archive_id=kept).deleted_at is None
    source.refresh_from_db()
    assert source.last_reconciled_at is not None
    assert source.last_reconcile_report["studies_deleted"] == 1


def test_reconciliation_picks_up_what_the_change_feed_missed(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    uid, study_id = put_study(archive_a, patient_id="F-1")
    last = archive_a.wait_stable([study_id])
    ArchiveSource.objects.filter(pk=source.pk).update(cursor=last)  # as if the feed skipped it
    source.refresh_from_db()

    source_sync(source=source)
    assert not ImagingStudy.objects.exists()
    report = source_reconcile(source=source)

    assert report.studies_recovered == 1
    assert ImagingStudy.objects.get().study_instance_uid == uid
    assert source_reconcile(source=source).studies_recovered == 0  # and once is enough


def test_a_study_that_answers_404_is_marked_deleted(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    uid, study_id = put_study(archive_a, patient_id="G-1")
    archive_a.wait_stable([study_id])
    source_sync(source=source)
    client = archive_a.client()
    client.delete_study(study_id)

    fetched = fetch_study(client, study_id)
    result = write_page(source, [fetched])

    assert fetched.gone
    assert result.studies_deleted == 1
    assert ImagingStudy.objects.get(study_instance_uid=uid).deleted_at is not None


def test_a_study_back_in_the_archive_is_no_longer_deleted(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    uid, study_id = put_study(archive_a, patient_id="H-1")
    archive_a.wait_stable([study_id])
    source_sync(source=source)
    archive_a.client().delete_study(study_id)
    source_reconcile(source=source)
    assert ImagingStudy.objects.get().deleted_at is not None
    since = archive_a.last_seq()

    _uid, again = put_study(archive_a, patient_id="H-1", study_uid=uid)
    archive_a.wait_stable([again], since=since)
    source_sync(source=source)

    assert ImagingStudy.objects.get().deleted_at is None


def test_two_sources_never_share_an_establishment(archive_a, connect) -> None:
    establishment = EstablishmentFactory()
    connect(archive_a, establishment)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        connect(archive_a, establishment)


@pytest.mark.django_db(transaction=True)
def test_a_sync_process_killed_half_way_loses_nothing(archive_a, connect, put_study) -> None:
    """A real ``sync_archive`` process, killed with SIGKILL between two pages."""
    source = connect(archive_a)
    ids = [put_study(archive_a, patient_id=f"SIGKILL-{n}")[1] for n in range(8)]
    archive_a.wait_stable(ids)
    archive_a.slow_flag.write_text("0.15")  # each study read now takes ~0.3 s
    env = {
        **os.environ,
        "PORTAL_ENV": "test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sync_archive",
            "--source",
            str(source.pk),
            "--once",
            "--page-size",
            "14",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while ArchiveSource.objects.get(pk=source.pk).cursor == 0:
            assert process.poll() is None, "the sync ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    archive_a.slow_flag.unlink()

    source.refresh_from_db()
    last = archive_a.last_seq()
    assert 0 < source.cursor < last
    committed = {
        change.resource_id
        for change in archive_a.client().changes(since=0, limit=1000).changes
        if change.change_type == "StableStudy" and change.seq <= source.cursor
    }
    assert set(ImagingStudy.objects.values_list("archive_id", flat=True)) == committed

    source_sync(source=source)

    source.refresh_from_db()
    assert source.cursor == last
    assert sorted(ImagingStudy.objects.values_list("archive_id", flat=True)) == sorted(ids)
    assert PatientIdentifier.objects.count() == Patient.objects.count() == 8
