"""An archive's resources (patient, study, series, instance) resolved to the index.

The archive names a resource by its Orthanc id, its DICOM identifier, or both. Patients and
studies are in the index; series and instances are not, so the archive is asked once for their
parent study and the answer cached: an Orthanc id is a hash of the DICOM identifiers above it,
so a series never changes study. Only the asking archive's own resources resolve: an identifier
indexed from another archive is not this archive's to describe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache as cache_function

from django.conf import settings
from django.core.cache import cache

from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier
from imaging.orthanc import OrthancClient, OrthancError, OrthancNotFound
from imaging.services import archive_source_client
from portal.hot_sql import hot_cursor
from portal.local_cache import LocalTtlCache

logger = logging.getLogger(__name__)

LEVELS = ("patient", "study", "series", "instance")
# A parent never changes; a day bounds the cache's size rather than its correctness.
PARENT_CACHE_S = 24 * 3600
# "No such resource" may stop being true (an upload): asked again after a few seconds.
MISSING_CACHE_S = 10
LOOKUP_TIMEOUT_S = 5.0
_MISSING = "-"


@dataclass(frozen=True)
class Resolved:
    """The patient a resource belongs to and the studies it exposes: one for a study, a
    series or an instance; every present study of this archive for a patient."""

    patient: Patient
    studies: list[ImagingStudy]


# A viewer asks about every image of a study in a burst: the index's answer for a patient or a
# study is kept in the process for at most ACCESS_DECISION_VALIDITY_S (the bound on any cached
# answer), so a study deleted from the index stops resolving within that time. Unknown
# resources are not kept here (the archive's own answers about them are, shortly).
_resolved: LocalTtlCache[Resolved] = LocalTtlCache(
    max_entries=20_000, ttl_s=lambda: float(settings.ACCESS_DECISION_VALIDITY_S)
)
# The archive's answers about parents never change: kept in the process too, in front of Redis.
_parents: LocalTtlCache[str] = LocalTtlCache(max_entries=200_000, ttl_s=lambda: 3600.0)


def archive_resource_resolve(
    *, source: ArchiveSource, level: str, orthanc_id: str, dicom_uid: str
) -> Resolved | None:
    """The index's answer to "whose is this resource?", or None when the resource is
    unknown (to the index, or to the archive for series and instances) or the archive cannot
    be asked now."""
    if level in ("series", "instance"):
        resource_id = orthanc_id or _orthanc_id_of(source, level=level, dicom_uid=dicom_uid)
        if not resource_id:
            return None
        study_id = _parent_study_id(source, level=level, orthanc_id=resource_id)
        if not study_id:
            return None
        level, orthanc_id, dicom_uid = "study", study_id, ""
    if level not in ("patient", "study"):
        raise ValueError(f"unknown level {level!r}")
    key = (source.pk, level, orthanc_id, dicom_uid)
    resolved = _resolved.get(key)
    if resolved is None:
        if level == "patient":
            resolved = _patient(source, orthanc_id=orthanc_id, patient_id=dicom_uid)
        else:
            resolved = _study(source, orthanc_id=orthanc_id, study_instance_uid=dicom_uid)
        if resolved is not None:
            _resolved.set(key, resolved)
    return resolved


def _in_model_order(model: type[ImagingStudy] | type[Patient], names: set[str]) -> tuple[str, ...]:
    # ``Model.from_db`` takes the loaded values in the order of the model's fields.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


_STUDY_FIELDS = _in_model_order(
    ImagingStudy, {"id", "patient_id", "establishment_id", "study_instance_uid", "archive_id"}
)
_PATIENT_FIELDS = _in_model_order(Patient, {"id", "user_id", "merged_into_id"})


@cache_function
def _study_sql(*, by_uid: bool, by_archive_id: bool) -> str:
    # Only names from the models' metadata are formatted in; values are parameters.
    columns = ", ".join(
        [f"s.{name}" for name in _STUDY_FIELDS] + [f"p.{name}" for name in _PATIENT_FIELDS]
    )
    where = ["s.source_id = %s", "s.deleted_at IS NULL"]
    if by_uid:
        where.append("s.study_instance_uid = %s")
    if by_archive_id:
        where.append("s.archive_id = %s")
    return (
        f"SELECT {columns} FROM {ImagingStudy._meta.db_table} s "  # noqa: S608
        f"JOIN {Patient._meta.db_table} p ON p.id = s.patient_id "
        f"WHERE {' AND '.join(where)} LIMIT 1"
    )


def _study(source: ArchiveSource, *, orthanc_id: str, study_instance_uid: str) -> Resolved | None:
    """The present study of this archive with these ids and its patient, in one hand-written
    statement (this runs for every study a viewer opens): the instances carry the fields the
    access decision reads, the others load on use."""
    if not (orthanc_id or study_instance_uid):
        return None
    params: list[object] = [source.pk]
    if study_instance_uid:
        params.append(study_instance_uid)
    if orthanc_id:
        params.append(orthanc_id)
    sql = _study_sql(by_uid=bool(study_instance_uid), by_archive_id=bool(orthanc_id))
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_STUDY_FIELDS)
    study = ImagingStudy.from_db("default", list(_STUDY_FIELDS), list(row[:split]))
    patient = Patient.from_db("default", list(_PATIENT_FIELDS), list(row[split:]))
    study.patient = patient
    return Resolved(patient=patient, studies=[study])


def _patient(source: ArchiveSource, *, orthanc_id: str, patient_id: str) -> Resolved | None:
    if not patient_id and orthanc_id:
        patient_id = _cached_archive_answer(
            source, f"patient:{orthanc_id}", lambda client: _patient_id(client.patient(orthanc_id))
        )
    if not patient_id:
        return None
    identifier = (
        PatientIdentifier.objects.filter(
            establishment_id=source.establishment_id, patient_id=patient_id
        )
        .select_related("patient_record")
        .first()
    )
    if identifier is None:
        return None
    studies = list(
        ImagingStudy.objects.present().filter(
            source=source, patient_identifier=identifier, patient=identifier.patient_record
        )
    )
    if not studies:
        return None
    return Resolved(patient=identifier.patient_record, studies=studies)


def _patient_id(payload: dict[str, object]) -> str:
    tags = payload.get("MainDicomTags")
    value = tags.get("PatientID") if isinstance(tags, dict) else None
    return str(value).strip() if value else ""


def _parent_study_id(source: ArchiveSource, *, level: str, orthanc_id: str) -> str:
    plural = "series" if level == "series" else "instances"
    return _cached_archive_answer(
        source,
        f"{level}:{orthanc_id}",
        lambda client: str(client.parent_study(plural, orthanc_id).get("ID") or ""),
    )


def _orthanc_id_of(source: ArchiveSource, *, level: str, dicom_uid: str) -> str:
    if not dicom_uid:
        return ""
    wanted = "Series" if level == "series" else "Instance"

    def ask(client: OrthancClient) -> str:
        for item in client.lookup(dicom_uid):
            if item.get("Type") == wanted and item.get("ID"):
                return str(item["ID"])
        return ""

    return _cached_archive_answer(source, f"{level}-uid:{dicom_uid}", ask)


def _cached_archive_answer(
    source: ArchiveSource, key: str, ask: Callable[[OrthancClient], str]
) -> str:
    """The archive's answer for ``key``, asked once and then cached (an empty answer, "no such
    resource", for a few seconds only). An archive that cannot be asked answers "", uncached."""
    cache_key = f"imaging:archive-resource:{source.pk}:{key}"
    known = _parents.get(cache_key)
    if known is not None:
        return known
    cached = cache.get(cache_key)
    if cached is not None:
        if cached == _MISSING:
            return ""
        _parents.set(cache_key, str(cached))
        return str(cached)
    try:
        # Short: the archive is holding its own client's request while it waits for us.
        client = archive_source_client(source, timeout_s=LOOKUP_TIMEOUT_S)
        try:
            answer = ask(client)
        finally:
            client.close()
    except OrthancNotFound:
        answer = ""
    except OrthancError as exc:
        logger.warning("archive %s: resource lookup failed (%s)", source.pk, exc.kind)
        return ""
    cache.set(cache_key, answer or _MISSING, PARENT_CACHE_S if answer else MISSING_CACHE_S)
    if answer:
        _parents.set(cache_key, answer)
    return answer
