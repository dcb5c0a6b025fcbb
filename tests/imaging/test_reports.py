"""A study's report read from a real Orthanc (Debian's package): encapsulated PDF, structured
report rendered to PDF, and every way it can be unavailable."""

from __future__ import annotations

import datetime
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pydicom.uid import generate_uid

from imaging import reports
from imaging.models import ArchiveSource, ImagingStudy
from imaging.reports import ReportLine, ReportUnavailable, structured_report_lines, study_report
from imaging.sync import source_sync
from tests.factories import EstablishmentFactory
from tests.imaging.factories import ArchiveSourceFactory, ImagingStudyFactory
from tests.imaging.orthanc_lab import (
    ENHANCED_SR_STORAGE,
    XRAY_DOSE_SR_STORAGE,
    OrthancLab,
    dicom_instance,
    encapsulated_pdf_instance,
    sr_code,
    sr_container,
    sr_date,
    sr_num,
    sr_pname,
    sr_text,
    structured_report_dataset,
    structured_report_instance,
)

pytestmark = pytest.mark.django_db

PATIENT_ID = "IPP-7731"
PATIENT_NAME = "DURAND^Hélène"
ESTABLISHMENT = "CHR Metz-Thionville"

NO_REPORT = "Aucun compte rendu n'est disponible pour cet examen."
DELETED = (
    "Cet examen n'est plus conservé dans l'archive de l'établissement : son compte rendu "
    "n'est pas disponible."
)
UNREADABLE = "Le compte rendu de cet examen est dans un format que le portail ne sait pas lire."
TOO_LARGE = "Le compte rendu de cet examen est trop volumineux pour être téléchargé ici."
UNREACHABLE = (
    "L'archive de l'établissement ne répond pas : le compte rendu ne peut pas être "
    "téléchargé pour le moment. Réessayez plus tard."
)
ARCHIVE_ERROR = (
    "L'archive de l'établissement n'a pas pu fournir le compte rendu. Réessayez plus tard ; "
    "si le problème persiste, contactez l'établissement."
)


def pdf_text(data: bytes) -> str:
    """What a reader of the PDF sees (poppler's pdftotext), whitespace folded."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode("utf-8").split())


def pdf_info(data: bytes, folder: Path) -> str:
    """poppler's pdfinfo and the XMP metadata of the PDF, whitespace folded."""
    path = folder / "report.pdf"
    path.write_bytes(data)
    answers = [
        subprocess.run(["pdfinfo", *options, str(path)], capture_output=True, check=True)
        for options in ([], ["-meta"])
    ]
    return " ".join(b"".join(answer.stdout for answer in answers).decode("utf-8").split())


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    """A real one-page PDF report, of odd length so that DICOM pads it."""
    from weasyprint import HTML

    pdf = bytes(
        HTML(
            string=(
                "<html lang='fr'><body><h1>Scanner thoracique</h1>"
                "<p>Conclusion : absence d'embolie pulmonaire.</p></body></html>"
            )
        ).write_pdf()
    )
    return pdf if len(pdf) % 2 else pdf + b"\n"


@pytest.fixture
def source(archive_a: OrthancLab, connect: Callable[..., ArchiveSource]) -> ArchiveSource:
    return connect(archive_a, EstablishmentFactory(name=ESTABLISHMENT))


@pytest.fixture
def study_tags() -> dict[str, Any]:
    return {
        "patient_id": PATIENT_ID,
        "patient_name": PATIENT_NAME,
        "study_uid": generate_uid(),
        "study_date": "20260314",
        "description": "Scanner thoracique",
    }


@pytest.fixture
def indexed(archive_a: OrthancLab, source: ArchiveSource) -> Callable[..., ImagingStudy]:
    """``indexed(*instances)``: uploads one study's instances and syncs the archive into the
    index, as the portal does; returns the indexed study."""

    def load(*instances: bytes) -> ImagingStudy:
        answers = archive_a.upload(instances)
        study_ids = {answer["ParentStudy"] for answer in answers}
        assert len(study_ids) == 1
        archive_a.wait_stable(study_ids)
        source_sync(source=source)
        return ImagingStudy.objects.get(archive_id=study_ids.pop())

    return load


def unavailable(study: ImagingStudy) -> ReportUnavailable:
    with pytest.raises(ReportUnavailable) as caught:
        study_report(study=study)
    return caught.value


def test_it_hands_over_the_encapsulated_pdf(indexed, study_tags, report_pdf) -> None:
    study = indexed(
        dicom_instance(modality="CT", **study_tags),
        encapsulated_pdf_instance(pdf=report_pdf, **study_tags),
    )
    assert study.report_available

    report = study_report(study=study)

    assert report.filename == "compte-rendu-2026-03-14.pdf"
    assert report.content_type == "application/pdf"
    assert report.data == report_pdf  # the padding byte is gone
    assert "Conclusion : absence d'embolie pulmonaire." in pdf_text(report.data)


def test_it_strips_the_padding_byte_when_the_length_is_not_declared(
    indexed, study_tags, report_pdf
) -> None:
    study = indexed(encapsulated_pdf_instance(pdf=report_pdf, declare_length=False, **study_tags))

    report = study_report(study=study)

    assert report.data == report_pdf
    assert "absence d'embolie pulmonaire" in pdf_text(report.data)


def test_it_renders_a_basic_text_structured_report_in_french(indexed, study_tags, tmp_path) -> None:
    study = indexed(
        dicom_instance(modality="CT", **study_tags),
        structured_report_instance(
            title="Compte rendu de scanner thoracique",
            content=[
                sr_pname("Médecin observateur", "MARTIN^Claire^^Dr"),
                sr_container(
                    "Indication", sr_text("Motif", "Douleur thoracique ; suspicion d'embolie.")
                ),
                sr_container(
                    "Résultats",
                    sr_text("Constatation", "Pas de défect endoluminal des artères pulmonaires."),
                    sr_code("Épanchement pleural", "Absent"),
                ),
                sr_container("Conclusion", sr_text("Conclusion", "Absence d'embolie pulmonaire.")),
            ],
            verified_by="MARTIN^Claire^^Dr",
            **study_tags,
        ),
    )

    report = study_report(study=study)

    assert report.filename == "compte-rendu-2026-03-14.pdf"
    assert report.content_type == "application/pdf"
    assert report.data.startswith(b"%PDF")
    info = pdf_info(report.data, tmp_path)
    assert "(A4)" in info
    assert 'pdfaid:part="3" pdfaid:conformance="B"' in info  # PDF/A-3b, like the portal's PDFs
    assert "Title: Compte rendu de scanner thoracique – Scanner thoracique" in info
    text = pdf_text(report.data)
    for expected in (
        ESTABLISHMENT,
        "Examen du 14 mars 2026 – Scanner thoracique",
        "Compte rendu de scanner thoracique",
        "Compte rendu structuré (DICOM SR)",
        "Compte rendu rédigé le 14/03/2026 à 11:00",
        "Validé par Dr Claire MARTIN le 14/03/2026 à 11:30.",
        "Médecin observateur Dr Claire MARTIN",
        "Indication Motif Douleur thoracique ; suspicion d'embolie.",
        "Résultats Constatation Pas de défect endoluminal des artères pulmonaires.",
        "Épanchement pleural Absent",
        "Conclusion Conclusion Absence d'embolie pulmonaire.",
        "Page 1 / 1",
    ):
        assert expected in text
    assert "DURAND" not in text  # the header names the exam, not the patient
    assert "non encore validé" not in text


def test_it_warns_that_an_unverified_structured_report_is_not_validated(
    indexed, study_tags
) -> None:
    study = indexed(
        structured_report_instance(
            title="Compte rendu provisoire",
            content=[sr_text("Conclusion", "Examen en cours d'interprétation.")],
            completion="PARTIAL",
            **study_tags,
        )
    )

    text = pdf_text(study_report(study=study).data)

    assert "Compte rendu non encore validé par le médecin." in text
    assert "Compte rendu partiel : il peut être complété par la suite." in text
    assert "Examen en cours d'interprétation." in text


def test_it_prefers_the_newest_pdf_over_older_ones_and_over_a_structured_report(
    indexed, study_tags, report_pdf
) -> None:
    from weasyprint import HTML

    amended = bytes(HTML(string="<p>Compte rendu rectifié le 20 mars.</p>").write_pdf())
    study = indexed(
        encapsulated_pdf_instance(pdf=report_pdf, content_date="20260314", **study_tags),
        encapsulated_pdf_instance(pdf=amended, content_date="20260320", **study_tags),
        structured_report_instance(
            title="Compte rendu",
            content=[sr_text("Conclusion", "Texte structuré.")],
            content_date="20260401",
            **study_tags,
        ),
    )

    report = study_report(study=study)

    assert "Compte rendu rectifié le 20 mars." in pdf_text(report.data)


def test_it_prefers_the_newest_structured_report(indexed, study_tags) -> None:
    study = indexed(
        structured_report_instance(
            title="Compte rendu",
            content=[sr_text("Conclusion", "Première version.")],
            content_date="20260314",
            content_time="090000",
            **study_tags,
        ),
        structured_report_instance(
            title="Compte rendu",
            content=[sr_text("Conclusion", "Version complétée.")],
            content_date="20260314",
            content_time="170000",
            **study_tags,
        ),
    )

    text = pdf_text(study_report(study=study).data)

    assert "Version complétée." in text
    assert "Première version." not in text


def test_it_says_there_is_no_report_for_a_study_of_images_only(indexed, study_tags) -> None:
    study = indexed(dicom_instance(modality="CT", **study_tags))
    assert not study.report_available

    error = unavailable(study)

    assert str(error) == NO_REPORT
    assert error.reason == "no_report"


def test_it_says_there_is_no_report_when_the_archive_has_none_despite_the_index(
    indexed, study_tags
) -> None:
    study = indexed(dicom_instance(modality="CT", **study_tags))
    study.report_available = True  # an index older than the archive

    assert str(unavailable(study)) == NO_REPORT


def test_it_refuses_an_encapsulated_document_that_is_not_a_pdf(indexed, study_tags) -> None:
    study = indexed(encapsulated_pdf_instance(pdf=b"<html><p>Pas un PDF</p></html>", **study_tags))

    error = unavailable(study)

    assert str(error) == UNREADABLE
    assert error.reason == "unreadable"


def test_it_refuses_a_structured_report_that_is_not_a_text_report(indexed, study_tags) -> None:
    study = indexed(
        structured_report_instance(
            title="Rapport de dose",
            content=[sr_text("Commentaire", "Dose totale.")],
            sop_class=XRAY_DOSE_SR_STORAGE,
            **study_tags,
        )
    )

    assert str(unavailable(study)) == UNREADABLE


def test_it_refuses_a_report_larger_than_the_bound(
    indexed, study_tags, report_pdf, monkeypatch
) -> None:
    study = indexed(encapsulated_pdf_instance(pdf=report_pdf, declare_length=False, **study_tags))
    monkeypatch.setattr(reports, "REPORT_MAX_BYTES", len(report_pdf) // 2)

    error = unavailable(study)

    assert str(error) == TOO_LARGE
    assert error.reason == "too_large"


def no_archive_call(*args: object, **kwargs: object) -> None:
    raise AssertionError("the archive was asked")


def test_it_answers_for_a_demo_study_without_asking_any_archive(monkeypatch) -> None:
    monkeypatch.setattr(reports, "archive_source_client", no_archive_call)
    study = ImagingStudyFactory(
        demo=True, report_available=True, source=ArchiveSourceFactory(), archive_id="demo"
    )

    error = unavailable(study)

    assert str(error) == "Cet examen de démonstration n'a pas de compte rendu à télécharger."
    assert error.reason == "demo"


def test_it_answers_for_a_study_without_archive() -> None:
    study = ImagingStudyFactory(report_available=True, source=None, archive_id="")

    error = unavailable(study)

    assert str(error) == (
        "Cet examen n'est rattaché à aucune archive : son compte rendu n'est pas disponible."
    )
    assert error.reason == "no_archive"


def test_it_answers_when_the_archive_is_unreachable() -> None:
    study = ImagingStudyFactory(
        report_available=True,
        source=ArchiveSourceFactory(),  # nothing listens at its address
        archive_id="0a1b2c3d-00000000-00000000-00000000-00000000",
    )

    error = unavailable(study)

    assert str(error) == UNREACHABLE
    assert error.reason == "unreachable"


def test_it_answers_when_the_archive_refuses_the_portal(
    archive_a, connect, study_tags, report_pdf
) -> None:
    answer = archive_a.upload([encapsulated_pdf_instance(pdf=report_pdf, **study_tags)])[0]
    study = ImagingStudyFactory(
        report_available=True,
        source=connect(archive_a, password="plus-le-bon-mot-de-passe"),
        archive_id=answer["ParentStudy"],
    )

    error = unavailable(study)

    assert str(error) == ARCHIVE_ERROR
    assert error.reason == "archive_error"


def test_it_answers_for_a_study_deleted_from_the_archive(
    archive_a, indexed, study_tags, report_pdf
) -> None:
    study = indexed(encapsulated_pdf_instance(pdf=report_pdf, **study_tags))
    client = archive_a.client()
    client.delete_study(study.archive_id)
    client.close()

    error = unavailable(study)

    assert str(error) == DELETED
    assert error.reason == "deleted"


def test_it_answers_for_a_study_the_index_knows_is_deleted(monkeypatch) -> None:
    monkeypatch.setattr(reports, "archive_source_client", no_archive_call)
    study = ImagingStudyFactory(
        report_available=True,
        source=ArchiveSourceFactory(),
        archive_id="0a1b2c3d-00000000-00000000-00000000-00000000",
        deleted_at=timezone.now(),
    )

    assert str(unavailable(study)) == DELETED


def test_it_keeps_patient_data_out_of_the_logs(
    archive_a, indexed, study_tags, report_pdf, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="imaging")
    with_pdf = indexed(encapsulated_pdf_instance(pdf=report_pdf, **study_tags))
    not_pdf = indexed(
        encapsulated_pdf_instance(pdf=b"pas un PDF", **{**study_tags, "study_uid": generate_uid()})
    )
    study_report(study=with_pdf)
    unavailable(not_pdf)
    client = archive_a.client()
    client.delete_study(with_pdf.archive_id)
    client.close()
    unavailable(with_pdf)

    logged = caplog.text
    assert f"study {with_pdf.pk}" in logged
    assert f"study {not_pdf.pk}" in logged
    for patient_data in (PATIENT_ID, "DURAND", "Hélène", "Scanner thoracique", "19620417"):
        assert patient_data not in logged


def test_it_reads_measurements_dates_codes_and_names_the_way_french_readers_write_them() -> None:
    dataset = structured_report_dataset(
        title="Compte rendu",
        sop_class=ENHANCED_SR_STORAGE,
        content=[
            sr_container(
                "Mesures",
                sr_num("Diamètre du nodule", "12.5", "mm"),
                sr_num("Nombre de nodules", "3", "1"),
                sr_date("Examen de comparaison", "20250901"),
                sr_code("Latéralité", "Droite"),
                sr_container("Sous-partie", sr_text("Remarque", "Ligne un\nLigne deux")),
            ),
            sr_pname("Médecin", "MARTIN^Claire^^Dr"),
        ],
        patient_id=PATIENT_ID,
        patient_name=PATIENT_NAME,
        study_uid=generate_uid(),
    )

    assert structured_report_lines(dataset) == [
        ReportLine(depth=1, heading=True, label="Mesures"),
        ReportLine(depth=2, heading=False, label="Diamètre du nodule", value="12,5 mm"),
        ReportLine(depth=2, heading=False, label="Nombre de nodules", value="3"),
        ReportLine(depth=2, heading=False, label="Examen de comparaison", value="01/09/2025"),
        ReportLine(depth=2, heading=False, label="Latéralité", value="Droite"),
        ReportLine(depth=2, heading=True, label="Sous-partie"),
        ReportLine(depth=3, heading=False, label="Remarque", value="Ligne un\nLigne deux"),
        ReportLine(depth=1, heading=False, label="Médecin", value="Dr Claire MARTIN"),
    ]


def test_it_names_the_file_without_a_date_when_the_study_has_none() -> None:
    assert reports.report_filename(ImagingStudyFactory.build(study_date=None)) == (
        "compte-rendu.pdf"
    )
    assert reports.report_filename(
        ImagingStudyFactory.build(study_date=datetime.date(2026, 3, 14))
    ) == ("compte-rendu-2026-03-14.pdf")
