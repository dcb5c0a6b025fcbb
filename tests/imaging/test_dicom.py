"""Reading archive values: tolerant of bad data, and reporting it."""

from __future__ import annotations

import datetime

import pytest

from imaging.dicom import extract_ins, parse_da, parse_tm, study_record

INS = "295109912611193"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240102", datetime.date(2024, 1, 2)),
        ("2024.01.02", datetime.date(2024, 1, 2)),
        ("2024-01-02", datetime.date(2024, 1, 2)),
        ("20241301", None),
        ("", None),
        ("demain", None),
    ],
)
def test_it_reads_dicom_dates(value, expected) -> None:
    assert parse_da(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101500", datetime.time(10, 15)),
        ("1015", datetime.time(10, 15)),
        ("10", datetime.time(10)),
        ("101500.25", datetime.time(10, 15, 0, 250000)),
        ("10:15:00", datetime.time(10, 15)),
        ("235960", datetime.time(23, 59, 59)),
        ("256000", None),
        ("99h", None),
    ],
)
def test_it_reads_dicom_times(value, expected) -> None:
    assert parse_tm(value) == expected


def test_it_finds_the_ins_in_other_patient_ids_or_their_qualifiers() -> None:
    by_issuer = {
        "OtherPatientIDsSequence": [{"PatientID": INS, "IssuerOfPatientID": "1.2.250.1.213.1.4.8"}]
    }
    by_qualifier = {
        "OtherPatientIDsSequence": [
            {"PatientID": "IPP-1", "IssuerOfPatientID": "CHR"},
            {
                "PatientID": INS,
                "IssuerOfPatientIDQualifiersSequence": [
                    {"UniversalEntityID": "1.2.250.1.213.1.4.10", "UniversalEntityIDType": "ISO"}
                ],
            },
        ]
    }
    as_main_id = {"PatientID": INS, "IssuerOfPatientID": "1.2.250.1.213.1.4.8"}

    for tags in (by_issuer, by_qualifier, as_main_id):
        assert extract_ins(tags, uid="1.2") == (INS, [])


def test_it_ignores_other_issuers_and_reports_unusable_ins() -> None:
    nia = {
        "OtherPatientIDsSequence": [{"PatientID": INS, "IssuerOfPatientID": "1.2.250.1.213.1.4.9"}]
    }
    assert extract_ins(nia, uid="1.2") == (None, [])
    two = {
        "OtherPatientIDsSequence": [
            {"PatientID": INS, "IssuerOfPatientID": "1.2.250.1.213.1.4.8"},
            {"PatientID": "262045439512382", "IssuerOfPatientID": "1.2.250.1.213.1.4.8"},
        ]
    }
    ins, findings = extract_ins(two, uid="1.2")
    assert ins is None
    assert [finding.code for finding in findings] == ["conflicting_ins"]


def test_a_study_without_uid_cannot_be_indexed() -> None:
    assert (
        study_record(archive_id="x", study={"MainDicomTags": {}}, series=[], instance_tags=None)
        is None
    )


def test_a_study_without_patient_id_is_kept_and_reported() -> None:
    record = study_record(
        archive_id="x",
        study={
            "MainDicomTags": {"StudyInstanceUID": "1.2.3", "StudyDate": "20240101"},
            "PatientMainDicomTags": {},
        },
        series=[{"MainDicomTags": {}, "Instances": ["a", "b"]}],
        instance_tags=None,
    )
    assert record is not None
    assert (record.patient_id, record.instance_count, record.series_count) == ("", 2, 1)
    assert {finding.code for finding in record.findings} == {
        "missing_patient_id",
        "missing_modality",
    }
