"""Reading what an Orthanc archive says about a study into plain, validated values.

Nothing here raises on bad data: a malformed or missing tag becomes an empty value plus a
``Finding`` for the source's report, so one odd study never stops a sync. Findings name the
study by its UID and the tag, never the patient's name or identifiers.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from imaging.models import (
    ACCESSION_NUMBER_MAX_LENGTH,
    MODALITIES_MAX_LENGTH,
    PATIENT_ID_MAX_LENGTH,
    PATIENT_NAME_MAX_LENGTH,
    STUDY_DESCRIPTION_MAX_LENGTH,
    UID_MAX_LENGTH,
)
from portal.identifiers import validate_ins

# Assigning authorities of the national health identifier (INS) in identifiers' issuers:
# INS-NIR and its test counterpart (ANS, "Référentiel INS"; FR Core's INS profile lists them).
# The temporary INS-NIA (1.2.250.1.213.1.4.9) is not a NIR and is left out on purpose.
DEFAULT_INS_ISSUER_OIDS = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.10")

# DICOM modality codes (PS3.3 C.7.3.1.1.1, current and retired). Others are kept, but reported.
_MODALITY_CODES = """
AR ASMT AU BDUS BI BMD CD CF CR CT CTPROTOCOL DD DF DG DM DOC DS DX EC ECG EPS ES FA FID FS GM
HC HD IO IOL IVOCT IVUS KER KO LEN LP LS MA MG MR MS M3D NM OAM OCT OP OPM OPR OPT OPTBSV OPTENF
OPV OSS OT PLAN PR PT PX REG RESP RF RG RTDOSE RTIMAGE RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN
RTSTRUCT RWV SEG SM SMR SR SRF ST STAIN TEXTUREMAP TG US VA VF VL XA XC
"""
KNOWN_MODALITIES = frozenset(_MODALITY_CODES.split())
# Series that carry the report: structured reports and encapsulated documents (PDF).
REPORT_MODALITIES = frozenset({"SR", "DOC"})
MODALITY_MAX_LENGTH = 16


@dataclass(frozen=True)
class Finding:
    """Something odd about one study, for the source's report."""

    code: str
    study: str
    tag: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "study": self.study, "tag": self.tag, "detail": self.detail}


@dataclass
class StudyRecord:
    """What the index keeps of one archive study, already cleaned."""

    archive_id: str
    study_instance_uid: str
    accession_number: str = ""
    study_date: datetime.date | None = None
    study_time: datetime.time | None = None
    modalities: str = ""
    study_description: str = ""
    series_count: int = 0
    instance_count: int = 0
    report_available: bool = False
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: datetime.date | None = None
    patient_sex: str = ""
    ins: str | None = None
    findings: list[Finding] = field(default_factory=list)


def _text(tags: Mapping[str, Any], keyword: str) -> str:
    value = tags.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list):  # multi-valued, or an unexpected sequence
        value = "\\".join(str(item) for item in value if not isinstance(item, dict))
    return str(value).strip()


def parse_da(value: str) -> datetime.date | None:
    """A DICOM date (``YYYYMMDD``; the old ``YYYY.MM.DD`` and ISO forms too) or None."""
    value = value.strip()
    for layout in ("%Y%m%d", "%Y.%m.%d", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(value, layout).date()
        except ValueError:
            continue
    return None


def parse_tm(value: str) -> datetime.time | None:
    """A DICOM time (``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.FFFFFF``; old ``HH:MM:SS``)."""
    value = value.strip().replace(":", "")
    whole, _dot, fraction = value.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return None
    hour = int(whole[0:2])
    minute = int(whole[2:4] or 0)
    second = int(whole[4:6] or 0)
    micro = int((fraction + "000000")[:6]) if fraction else 0
    if second == 60:  # DICOM allows a leap second; Python does not
        second = 59
    try:
        return datetime.time(hour, minute, second, micro)
    except ValueError:
        return None


def ins_issuer_oids() -> tuple[str, ...]:
    return tuple(getattr(settings, "IMAGING_INS_ISSUER_OIDS", DEFAULT_INS_ISSUER_OIDS))


def _issuer_of(item: Mapping[str, Any]) -> set[str]:
    """The issuer OIDs an identifier item names: IssuerOfPatientID or its qualifiers."""
    issuers = {_text(item, "IssuerOfPatientID")}
    qualifiers = item.get("IssuerOfPatientIDQualifiersSequence")
    if isinstance(qualifiers, list):
        for qualifier in qualifiers:
            if isinstance(qualifier, dict):
                issuers.add(_text(qualifier, "UniversalEntityID"))
    issuers.discard("")
    return issuers


def extract_ins(tags: Mapping[str, Any], *, uid: str) -> tuple[str | None, list[Finding]]:
    """The patient's INS if the instance carries one, with findings when it is unusable.

    The INS is the PatientID of an OtherPatientIDsSequence item whose issuer is an INS
    authority; or the main PatientID itself when IssuerOfPatientID names that authority.
    """
    oids = set(ins_issuer_oids())
    candidates: list[str] = []
    if _issuer_of(tags) & oids:
        candidates.append(_text(tags, "PatientID"))
    sequence = tags.get("OtherPatientIDsSequence")
    if isinstance(sequence, list):
        for item in sequence:
            if isinstance(item, dict) and _issuer_of(item) & oids:
                candidates.append(_text(item, "PatientID"))
    findings: list[Finding] = []
    valid: list[str] = []
    for candidate in candidates:
        try:
            valid.append(validate_ins(candidate))
        except ValidationError:
            findings.append(Finding("invalid_ins", uid, "OtherPatientIDsSequence"))
    distinct = list(dict.fromkeys(valid))
    if len(distinct) > 1:
        findings.append(Finding("conflicting_ins", uid, "OtherPatientIDsSequence"))
        return None, findings
    return (distinct[0] if distinct else None), findings


def _cut(value: str, limit: int, *, uid: str, tag: str, findings: list[Finding]) -> str:
    if len(value) <= limit:
        return value
    findings.append(Finding("too_long", uid, tag, f"{len(value)} > {limit}"))
    return value[:limit]


def _modalities(
    series: Iterable[Mapping[str, Any]], *, uid: str, findings: list[Finding]
) -> list[str]:
    codes: list[str] = []
    for item in series:
        tags = item.get("MainDicomTags") or {}
        code = _text(tags, "Modality").upper()
        if not code:
            findings.append(Finding("missing_modality", uid, "Modality"))
            continue
        if code not in KNOWN_MODALITIES:
            findings.append(Finding("unknown_modality", uid, "Modality", code[:32]))
            code = code[:MODALITY_MAX_LENGTH]
        if code not in codes:
            codes.append(code)
    return codes


def study_record(
    *,
    archive_id: str,
    study: Mapping[str, Any],
    series: Sequence[Mapping[str, Any]],
    instance_tags: Mapping[str, Any] | None,
) -> StudyRecord | None:
    """Read ``GET /studies/{id}``, its series and one instance's tags into a record.

    Returns None only when the study has no usable StudyInstanceUID (it cannot be indexed);
    the caller reports that.
    """
    main = study.get("MainDicomTags") or {}
    patient = study.get("PatientMainDicomTags") or {}
    uid = _text(main, "StudyInstanceUID")
    if not uid or len(uid) > UID_MAX_LENGTH:
        return None
    findings: list[Finding] = []

    raw_date = _text(main, "StudyDate")
    study_date = parse_da(raw_date) if raw_date else None
    if not raw_date:
        findings.append(Finding("missing_study_date", uid, "StudyDate"))
    elif study_date is None:
        findings.append(Finding("invalid_date", uid, "StudyDate", raw_date[:32]))

    raw_time = _text(main, "StudyTime")
    study_time = parse_tm(raw_time) if raw_time else None
    if raw_time and study_time is None:
        findings.append(Finding("invalid_time", uid, "StudyTime", raw_time[:32]))

    description = _cut(
        _text(main, "StudyDescription") or _text(instance_tags or {}, "StudyDescription"),
        STUDY_DESCRIPTION_MAX_LENGTH,
        uid=uid,
        tag="StudyDescription",
        findings=findings,
    )
    accession = _cut(
        _text(main, "AccessionNumber"),
        ACCESSION_NUMBER_MAX_LENGTH,
        uid=uid,
        tag="AccessionNumber",
        findings=findings,
    )
    codes = _modalities(series, uid=uid, findings=findings)
    modalities = ",".join(codes)
    if len(modalities) > MODALITIES_MAX_LENGTH:
        findings.append(Finding("too_long", uid, "Modality", str(len(codes))))
        modalities = modalities[:MODALITIES_MAX_LENGTH].rsplit(",", 1)[0]

    patient_id = _text(patient, "PatientID")
    if not patient_id:
        findings.append(Finding("missing_patient_id", uid, "PatientID"))
    elif len(patient_id) > PATIENT_ID_MAX_LENGTH:
        findings.append(Finding("too_long", uid, "PatientID", str(len(patient_id))))
        patient_id = ""
    # Kept as given: accents, carets and all (PN). Only an absurd length is cut.
    patient_name = _cut(
        str(patient.get("PatientName") or ""),
        PATIENT_NAME_MAX_LENGTH,
        uid=uid,
        tag="PatientName",
        findings=findings,
    )
    raw_birth = _text(patient, "PatientBirthDate")
    birth_date = parse_da(raw_birth) if raw_birth else None
    if raw_birth and birth_date is None:
        findings.append(Finding("invalid_date", uid, "PatientBirthDate"))
    sex = _text(patient, "PatientSex").upper()
    if sex not in ("F", "M", "O"):
        if sex:
            findings.append(Finding("invalid_sex", uid, "PatientSex"))
        sex = ""

    ins, ins_findings = extract_ins(instance_tags or {}, uid=uid)
    findings.extend(ins_findings)

    return StudyRecord(
        archive_id=archive_id,
        study_instance_uid=uid,
        accession_number=accession,
        study_date=study_date,
        study_time=study_time,
        modalities=modalities,
        study_description=description,
        series_count=len(series),
        instance_count=sum(len(item.get("Instances") or []) for item in series),
        report_available=bool(set(codes) & REPORT_MODALITIES),
        patient_id=patient_id,
        patient_name=patient_name,
        patient_birth_date=birth_date,
        patient_sex=sex,
        ins=ins,
        findings=findings,
    )
