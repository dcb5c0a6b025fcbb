"""A study's report, as a PDF the patient (or a practitioner) can download.

The archive holds the report in one of two DICOM forms, found in the study's report series
(``imaging.dicom.REPORT_MODALITIES``): an Encapsulated PDF (modality DOC), handed over as the
PDF it encapsulates, or a Structured Report (modality SR), whose text content tree is rendered
to an A4 PDF in French (WeasyPrint, PDF/A-3b, ``templates/imaging/pdf/structured_report.html``).
A PDF wins over an SR; among several of a kind, the newest (ContentDate/ContentTime) wins, so an
amended report replaces the first. When the newest one cannot be read the answer is "cannot
read", never an older report: an outdated report is worse than none.

Every failure is a ``ReportUnavailable`` with a one-line French message for the user; the logs
name the study and the archive's resources by their ids only.

Who may see the report is not decided here: callers go through ``access.decide`` first.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from imaging.dicom import REPORT_MODALITIES, parse_da, parse_tm
from imaging.models import ImagingStudy, readable_person_name
from imaging.orthanc import (
    OrthancClient,
    OrthancError,
    OrthancNotFound,
    OrthancTooLarge,
    OrthancUnreachable,
)
from imaging.services import archive_source_client

logger = logging.getLogger(__name__)

TEMPLATE = "imaging/pdf/structured_report.html"
PDF_VARIANT = "pdf/a-3b"
# A report is a few pages; anything much larger is not one, and would tie a worker up.
REPORT_MAX_BYTES = 20 * 1024 * 1024
# Report series hold a few instances; a study with more is not read past this many.
MAX_CANDIDATES = 50
# Bounds on a structured report's tree: far above real reports, well below a rendering that
# would take minutes.
MAX_SR_DEPTH = 16
MAX_SR_ITEMS = 3000

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_DOCUMENT_TAG = "0042-0011"
# Structured reports whose content is the text of a report (PS3.4 B.5): Basic Text, Enhanced,
# Comprehensive, Comprehensive 3D and Extensible SR. Dose reports, CAD results and the like
# are SR too, but not the radiologist's report.
TEXT_REPORT_SR_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.88.11",
        "1.2.840.10008.5.1.4.1.1.88.22",
        "1.2.840.10008.5.1.4.1.1.88.33",
        "1.2.840.10008.5.1.4.1.1.88.34",
        "1.2.840.10008.5.1.4.1.1.88.35",
    }
)


class ReportUnavailable(Exception):
    """The report cannot be handed over; ``str(error)`` is a one-line French message.

    ``reason`` says why, for the caller's status code: "no_report", "demo", "no_archive",
    "deleted", "unreachable", "archive_error", "unreadable" or "too_large".
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class StudyReport:
    filename: str
    data: bytes
    content_type: str = "application/pdf"


@dataclass(frozen=True)
class _Candidate:
    instance_id: str
    sop_class_uid: str
    written_at: datetime.datetime
    tags: Mapping[str, Any]


@dataclass(frozen=True)
class ReportLine:
    """One line of a rendered structured report: a heading, or a label and its value."""

    depth: int
    heading: bool
    label: str
    value: str = ""

    @property
    def indent(self) -> int:
        """How far the line sits in from the margin (top-level lines not at all)."""
        return min(self.depth - 1, 4)


def study_report(*, study: ImagingStudy) -> StudyReport:
    """The report of ``study`` as a PDF, read from its archive.

    Raises ``ReportUnavailable`` when the study has no report, is a demo study or has no
    archive, the archive cannot be reached or answers an error, or the report is in a form
    that cannot be read. Demo, deleted and report-less studies are answered without asking
    the archive.
    """
    if study.demo:
        raise ReportUnavailable(
            _("Cet examen de démonstration n'a pas de compte rendu à télécharger."), reason="demo"
        )
    if study.deleted_at is not None:
        raise _deleted()
    if study.source is None or not study.archive_id:
        raise ReportUnavailable(
            _(
                "Cet examen n'est rattaché à aucune archive : son compte rendu n'est pas "
                "disponible."
            ),
            reason="no_archive",
        )
    if not study.report_available:
        raise _no_report()
    try:
        client = archive_source_client(study.source)
    except OrthancError as exc:
        raise _archive_failure(study, exc) from exc
    try:
        return _read_report(client, study)
    except OrthancError as exc:
        raise _archive_failure(study, exc) from exc
    finally:
        client.close()


def _read_report(client: OrthancClient, study: ImagingStudy) -> StudyReport:
    candidates = list(_candidates(client, study.archive_id))
    pdfs = [item for item in candidates if item.sop_class_uid == ENCAPSULATED_PDF]
    structured = [item for item in candidates if item.sop_class_uid in TEXT_REPORT_SR_CLASSES]
    filename = report_filename(study)
    if pdfs:
        chosen = _newest(pdfs)
        data = _encapsulated_pdf(client, chosen, study_pk=study.pk)
        logger.info("study %s: PDF report from instance %s", study.pk, chosen.instance_id)
        return StudyReport(filename=filename, data=data)
    if structured:
        chosen = _newest(structured)
        dataset = _dataset(client.instance_file(chosen.instance_id, max_bytes=REPORT_MAX_BYTES))
        data = render_structured_report(study=study, dataset=dataset)
        logger.info("study %s: SR report from instance %s", study.pk, chosen.instance_id)
        return StudyReport(filename=filename, data=data)
    if candidates:
        logger.info(
            "study %s: no readable report (SOP classes %s)",
            study.pk,
            ",".join(sorted({item.sop_class_uid for item in candidates})),
        )
        raise _unreadable()
    raise _no_report()


def report_filename(study: ImagingStudy) -> str:
    """A name that says what the file is and when, never whose it is."""
    if study.study_date is None:
        return "compte-rendu.pdf"
    return f"compte-rendu-{study.study_date.isoformat()}.pdf"


def _candidates(client: OrthancClient, archive_id: str) -> Iterator[_Candidate]:
    """Every instance of the study's report series, with its SOP class and writing time."""
    instance_ids: list[str] = []
    for series in client.study_series(archive_id):
        tags = series.get("MainDicomTags") or {}
        if str(tags.get("Modality") or "").strip().upper() in REPORT_MODALITIES:
            instance_ids += [str(item) for item in series.get("Instances") or []]
    for instance_id in instance_ids[:MAX_CANDIDATES]:
        tags = client.instance_tags(instance_id)
        yield _Candidate(
            instance_id=instance_id,
            sop_class_uid=_text(tags.get("SOPClassUID")),
            written_at=_written_at(tags),
            tags=tags,
        )


def _written_at(tags: Mapping[str, Any]) -> datetime.datetime:
    """When the report was written: its content date, else its series' or instance's."""
    for date_tag, time_tag in (
        ("ContentDate", "ContentTime"),
        ("SeriesDate", "SeriesTime"),
        ("InstanceCreationDate", "InstanceCreationTime"),
    ):
        day = parse_da(_text(tags.get(date_tag)))
        if day is not None:
            moment = parse_tm(_text(tags.get(time_tag))) or datetime.time.min
            return datetime.datetime.combine(day, moment)
    return datetime.datetime.min


def _newest(candidates: Sequence[_Candidate]) -> _Candidate:
    return max(candidates, key=lambda item: item.written_at)


def _encapsulated_pdf(client: OrthancClient, candidate: _Candidate, *, study_pk: int) -> bytes:
    tags = candidate.tags
    mime_type = _text(tags.get("MIMETypeOfEncapsulatedDocument")).lower()
    if mime_type and mime_type != "application/pdf":
        logger.info(
            "study %s: instance %s holds %s, not a PDF", study_pk, candidate.instance_id, mime_type
        )
        raise _unreadable()
    declared = _int(tags.get("EncapsulatedDocumentLength"))
    if declared is not None and declared > REPORT_MAX_BYTES:
        raise _too_large()
    # One byte over the bound: the value may carry DICOM's padding byte.
    data = client.instance_content(
        candidate.instance_id, ENCAPSULATED_DOCUMENT_TAG, max_bytes=REPORT_MAX_BYTES + 1
    )
    if declared is not None and 0 < declared <= len(data):
        data = data[:declared]
    elif data.endswith(b"\x00") and data[:-1].rstrip().endswith(b"%%EOF"):
        data = data[:-1]  # DICOM pads odd-length values with one NUL byte
    if not data.startswith(b"%PDF"):
        logger.info(
            "study %s: instance %s holds a document that is not a PDF",
            study_pk,
            candidate.instance_id,
        )
        raise _unreadable()
    if len(data) > REPORT_MAX_BYTES:
        raise _too_large()
    return data


def _dataset(data: bytes) -> Dataset:
    try:
        return dcmread(io.BytesIO(data))
    except (InvalidDicomError, ValueError, TypeError, EOFError, OSError) as exc:
        raise _unreadable() from exc


# --- structured reports --------------------------------------------------------------------


def render_structured_report(*, study: ImagingStudy, dataset: Dataset) -> bytes:
    """The A4 PDF of an SR's text content tree, in French, for ``study``."""
    from weasyprint import HTML

    with translation.override("fr"), timezone.override(settings.TIME_ZONE):
        try:
            lines = structured_report_lines(dataset)
            context = {
                "study": study,
                "establishment": study.establishment,
                "title": _concept_name(dataset) or _("Compte rendu d'imagerie"),
                "written": _dicom_datetime(
                    _text(dataset.get("ContentDate")), _text(dataset.get("ContentTime"))
                ),
                "verification": _verification(dataset),
                "unverified": _text(dataset.get("VerificationFlag")).upper() == "UNVERIFIED",
                "partial": _text(dataset.get("CompletionFlag")).upper() == "PARTIAL",
                "lines": lines,
            }
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # pydicom reads values lazily: a malformed one surfaces here.
            raise _unreadable() from exc
        if not any(line.value for line in lines):
            raise _unreadable()
        html = render_to_string(TEMPLATE, context)
    return bytes(HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT))


def structured_report_lines(dataset: Dataset) -> list[ReportLine]:
    """The content tree of an SR, depth first, as headings (CONTAINER) and label/value lines
    (TEXT, CODE, NUM, DATE, TIME, DATETIME, PNAME, UIDREF). Image and coordinate references
    have no text of their own and are left out; their children are kept."""
    lines: list[ReportLine] = []
    _walk(dataset.get("ContentSequence") or [], depth=1, lines=lines)
    return lines


def _walk(items: Sequence[Dataset], *, depth: int, lines: list[ReportLine]) -> None:
    if depth > MAX_SR_DEPTH:
        raise _unreadable()
    for item in items:
        if len(lines) >= MAX_SR_ITEMS:
            raise _unreadable()
        value_type = _text(item.get("ValueType")).upper()
        label = _concept_name(item)
        if value_type == "CONTAINER":
            if label:
                lines.append(ReportLine(depth=depth, heading=True, label=label))
        else:
            value = _item_value(item, value_type)
            if value:
                lines.append(ReportLine(depth=depth, heading=False, label=label, value=value))
        children = item.get("ContentSequence")
        if children:
            _walk(children, depth=depth + 1, lines=lines)


def _item_value(item: Dataset, value_type: str) -> str:
    if value_type == "TEXT":
        return _text(item.get("TextValue"))
    if value_type == "CODE":
        return _code_meaning(item.get("ConceptCodeSequence"))
    if value_type == "NUM":
        return _measurement(item)
    if value_type == "DATE":
        day = parse_da(_text(item.get("Date")))
        return formats.date_format(day, "d/m/Y") if day else ""
    if value_type == "TIME":
        moment = parse_tm(_text(item.get("Time")))
        return moment.strftime("%H:%M") if moment else ""
    if value_type == "DATETIME":
        raw = _text(item.get("DateTime"))
        return _dicom_datetime(raw[:8], raw[8:14])
    if value_type == "PNAME":
        return readable_person_name(_text(item.get("PersonName")))
    if value_type == "UIDREF":
        return _text(item.get("UID"))
    return ""


def _measurement(item: Dataset) -> str:
    measured = item.get("MeasuredValueSequence") or []
    if not measured:
        return ""
    value = measured[0]
    number = _text(value.get("NumericValue")).replace(".", ",")
    if not number:
        return ""
    units = value.get("MeasurementUnitsCodeSequence") or []
    unit = ""
    if units:
        code = units[0]
        if _text(code.get("CodingSchemeDesignator")).upper() == "UCUM":
            # UCUM's code is the symbol people write ("mm", "cm2"); "1" means no unit.
            symbol = _text(code.get("CodeValue"))
            unit = "" if symbol == "1" else symbol
        else:
            unit = _text(code.get("CodeMeaning"))
    return f"{number} {unit}".strip()


def _verification(dataset: Dataset) -> str:
    if _text(dataset.get("VerificationFlag")).upper() != "VERIFIED":
        return ""
    observers = dataset.get("VerifyingObserverSequence") or []
    if not observers:
        return _("Compte rendu validé.")
    observer = observers[-1]
    name = readable_person_name(_text(observer.get("VerifyingObserverName")))
    raw = _text(observer.get("VerificationDateTime"))
    when = _dicom_datetime(raw[:8], raw[8:14])
    if name and when:
        return _("Validé par %(name)s le %(when)s.") % {"name": name, "when": when}
    if name:
        return _("Validé par %(name)s.") % {"name": name}
    return _("Compte rendu validé.")


def _dicom_datetime(raw_date: str, raw_time: str) -> str:
    day = parse_da(raw_date) if raw_date else None
    if day is None:
        return ""
    moment = parse_tm(raw_time) if raw_time else None
    if moment is None:
        return formats.date_format(day, "d/m/Y")
    return _("%(day)s à %(time)s") % {
        "day": formats.date_format(day, "d/m/Y"),
        "time": moment.strftime("%H:%M"),
    }


def _concept_name(item: Dataset) -> str:
    return _code_meaning(item.get("ConceptNameCodeSequence"))


def _code_meaning(sequence: Sequence[Dataset] | None) -> str:
    return _text(sequence[0].get("CodeMeaning")) if sequence else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | MultiValue):
        value = "\\".join(str(item) for item in value)
    return str(value).strip()


def _int(value: Any) -> int | None:
    try:
        return int(_text(value))
    except ValueError:
        return None


# --- what the user reads -------------------------------------------------------------------


def _no_report() -> ReportUnavailable:
    return ReportUnavailable(
        _("Aucun compte rendu n'est disponible pour cet examen."), reason="no_report"
    )


def _deleted() -> ReportUnavailable:
    return ReportUnavailable(
        _(
            "Cet examen n'est plus conservé dans l'archive de l'établissement : son compte rendu "
            "n'est pas disponible."
        ),
        reason="deleted",
    )


def _unreadable() -> ReportUnavailable:
    return ReportUnavailable(
        _("Le compte rendu de cet examen est dans un format que le portail ne sait pas lire."),
        reason="unreadable",
    )


def _too_large() -> ReportUnavailable:
    return ReportUnavailable(
        _("Le compte rendu de cet examen est trop volumineux pour être téléchargé ici."),
        reason="too_large",
    )


def _archive_failure(study: ImagingStudy, error: OrthancError) -> ReportUnavailable:
    logger.warning(
        "study %s: report not read from archive %s (%s, status %s)",
        study.pk,
        study.source_id,
        error.kind,
        error.status,
    )
    if isinstance(error, OrthancNotFound):
        return _deleted()
    if isinstance(error, OrthancTooLarge):
        return _too_large()
    if isinstance(error, OrthancUnreachable):
        return ReportUnavailable(
            _(
                "L'archive de l'établissement ne répond pas : le compte rendu ne peut pas être "
                "téléchargé pour le moment. Réessayez plus tard."
            ),
            reason="unreachable",
        )
    return ReportUnavailable(
        _(
            "L'archive de l'établissement n'a pas pu fournir le compte rendu. Réessayez plus "
            "tard ; si le problème persiste, contactez l'établissement."
        ),
        reason="archive_error",
    )
