"""Keeping the index in step with an archive: the change feed, and reconciliation.

Sync (``source_sync``): read Orthanc's ``/changes`` from the stored cursor, a page at a time;
for each ``StableStudy`` fetch the study (``/studies/{id}``, its series, one instance's tags
for the INS), then in ONE transaction upsert the patients and studies of the page and move the
cursor to the page's ``Last``. A crash anywhere loses nothing (the page is read again) and a
replay changes nothing (upserts are keyed on the StudyInstanceUID and on (issuer, PatientID)).
The cursor only moves with a conditional UPDATE on its previous value, so two concurrent runs
never both commit the same page: the loser stops.

Reconciliation (``source_reconcile``): Orthanc does not report deletions in ``/changes``, so the
archive's full study list is walked and compared with the index: studies the index lacks are
fetched, studies the list lacks are checked one by one and marked deleted on a 404.

Study details are fetched by a few threads (HTTP only); all database work stays in the
calling thread. Memory stays flat: one page in memory at a time, upserts in bulk.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.dicom import Finding, StudyRecord, study_record
from imaging.models import (
    ArchiveSource,
    ImagingStudy,
    Patient,
    PatientIdentifier,
    PatientLinkEvent,
)
from imaging.orthanc import (
    ChangesPage,
    OrthancClient,
    OrthancError,
    OrthancNotFound,
    OrthancProtocolError,
)
from imaging.services import archive_source_client, identifier_move

StageHook = Callable[[str, int], None]

MAX_FINDINGS_KEPT = 200
STABLE_STUDY = "StableStudy"
# Orthanc drops values over 256 bytes from its main tags; these are read in full from the
# instance instead.
FULL_LENGTH_TAGS = ("StudyDescription",)

STUDY_UPDATE_FIELDS = [
    "patient",
    "patient_identifier",
    "accession_number",
    "study_date",
    "study_time",
    "modalities",
    "study_description",
    "series_count",
    "instance_count",
    "establishment",
    "report_available",
    "archive_id",
    "source",
    "seen_at",
    "deleted_at",
    "updated_at",
]
DEMOGRAPHIC_FIELDS = ("patient_name", "patient_birth_date", "patient_sex")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def page_size_setting() -> int:
    return _setting("IMAGING_SYNC_PAGE_SIZE", 200)


def fetch_workers_setting() -> int:
    return max(1, _setting("IMAGING_SYNC_FETCH_WORKERS", 4))


def backoff_seconds(failures: int) -> int:
    """Delay before the next try after ``failures`` consecutive failures (1 → base)."""
    base = _setting("IMAGING_SYNC_BACKOFF_BASE_S", 60)
    ceiling = _setting("IMAGING_SYNC_BACKOFF_MAX_S", 3600)
    return int(min(ceiling, base * 2 ** max(0, failures - 1)))


class CursorMoved(Exception):
    """Another run moved the cursor first: this one stops without writing its page."""


@dataclass
class PageResult:
    studies_upserted: int = 0
    studies_deleted: int = 0
    patients_created: int = 0
    ins_links: int = 0
    changes_read: int = 0
    findings: list[Finding] = field(default_factory=list)


@dataclass
class SyncReport:
    """What one run did, kept on the source for its page (JSON)."""

    mode: str
    started_at: datetime.datetime = field(default_factory=timezone.now)
    finished_at: datetime.datetime | None = None
    done: bool = False
    superseded: bool = False
    changes_read: int = 0
    studies_upserted: int = 0
    studies_deleted: int = 0
    studies_recovered: int = 0
    patients_created: int = 0
    ins_links: int = 0
    findings_total: int = 0
    findings: list[dict[str, str]] = field(default_factory=list)

    def add_findings(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.findings_total += 1
            if len(self.findings) < MAX_FINDINGS_KEPT:
                self.findings.append(finding.as_dict())

    def merge(self, page: PageResult) -> None:
        self.changes_read += page.changes_read
        self.studies_upserted += page.studies_upserted
        self.studies_deleted += page.studies_deleted
        self.patients_created += page.patients_created
        self.ins_links += page.ins_links
        self.add_findings(page.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "done": self.done,
            "changes_read": self.changes_read,
            "studies_upserted": self.studies_upserted,
            "studies_deleted": self.studies_deleted,
            "studies_recovered": self.studies_recovered,
            "patients_created": self.patients_created,
            "ins_links": self.ins_links,
            "findings_total": self.findings_total,
            "findings": self.findings,
        }


# --- Reading the archive (HTTP only, safe in worker threads) ------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One study as read from the archive: a record, gone (404), or unreadable."""

    archive_id: str
    record: StudyRecord | None = None
    gone: bool = False
    finding: Finding | None = None


def fetch_study(client: OrthancClient, archive_id: str) -> Fetched:
    """Read one study's details. Connection and credential errors propagate: they stop the
    run without moving the cursor; one unreadable study is only reported."""
    try:
        study = client.study(archive_id)
        series = client.study_series(archive_id)
        first_instance = next(
            (instance for item in series for instance in (item.get("Instances") or [])), None
        )
        tags = (
            client.instance_tags(first_instance, full_length=FULL_LENGTH_TAGS)
            if first_instance
            else None
        )
    except OrthancNotFound:
        return Fetched(archive_id, gone=True)
    except OrthancProtocolError as exc:
        return Fetched(
            archive_id, finding=Finding("unreadable_study", archive_id, detail=str(exc.status))
        )
    record = study_record(archive_id=archive_id, study=study, series=series, instance_tags=tags)
    if record is None:
        return Fetched(archive_id, finding=Finding("missing_uid", archive_id, "StudyInstanceUID"))
    return Fetched(archive_id, record=record)


def fetch_studies(
    client: OrthancClient, archive_ids: list[str], pool: ThreadPoolExecutor
) -> list[Fetched]:
    return list(pool.map(partial(fetch_study, client), archive_ids))


def read_change_page(
    client: OrthancClient, pool: ThreadPoolExecutor, *, since: int, limit: int
) -> tuple[ChangesPage, list[Fetched]]:
    """One page of the change feed and the details of its stable studies (HTTP only)."""
    page = client.changes(since=since, limit=limit)
    study_ids = list(
        dict.fromkeys(
            change.resource_id
            for change in page.changes
            if change.change_type == STABLE_STUDY and change.resource_id
        )
    )
    return page, fetch_studies(client, study_ids, pool)


# --- Writing a page (one transaction) -----------------------------------------------------------


def _differs(target: Any, record: StudyRecord) -> bool:
    return any(getattr(target, name) != getattr(record, name) for name in DEMOGRAPHIC_FIELDS)


def _copy_demographics(target: Any, record: StudyRecord, now: datetime.datetime) -> None:
    for name in DEMOGRAPHIC_FIELDS:
        setattr(target, name, getattr(record, name))
    target.updated_at = now


def _upsert_patients(
    source: ArchiveSource,
    records: list[StudyRecord],
    result: PageResult,
    now: datetime.datetime,
) -> dict[str, PatientIdentifier]:
    """Find or create each (issuer, PatientID) of the page and its patient; link by INS.

    Returns the identifiers by PatientID. Bounded queries whatever the page size.
    """
    establishment = source.establishment
    latest: dict[str, StudyRecord] = {}
    for record in records:
        if record.patient_id:
            latest[record.patient_id] = record
    if not latest:
        return {}
    identifiers = {
        identifier.patient_id: identifier
        for identifier in PatientIdentifier.objects.select_related("patient_record").filter(
            establishment=establishment, patient_id__in=list(latest)
        )
    }
    ins_values = {record.ins for record in latest.values() if record.ins}
    by_ins: dict[str, Patient] = (
        {
            patient.ins: patient
            for patient in Patient.objects.filter(ins__in=ins_values)
            if patient.ins
        }
        if ins_values
        else {}
    )
    # A record's demographics follow the archive only while one establishment knows it;
    # once linked, each establishment's version stays on its own identifier.
    sole_owner = (
        set(
            PatientIdentifier.objects.filter(
                patient_record__in={
                    identifier.patient_record_id for identifier in identifiers.values()
                }
            )
            .values("patient_record")
            .annotate(count=Count("id"))
            .filter(count=1)
            .values_list("patient_record", flat=True)
        )
        if identifiers
        else set()
    )

    new_patients: list[Patient] = []
    new_identifiers: list[PatientIdentifier] = []
    linked_by_ins: list[PatientIdentifier] = []
    changed_identifiers: list[PatientIdentifier] = []
    changed_patients: dict[int, Patient] = {}
    moves: list[tuple[PatientIdentifier, Patient]] = []

    for patient_id, record in latest.items():
        identifier = identifiers.get(patient_id)
        if identifier is None:
            holder = by_ins.get(record.ins) if record.ins else None
            if holder is None:
                holder = Patient(
                    ins=record.ins,
                    patient_name=record.patient_name,
                    patient_birth_date=record.patient_birth_date,
                    patient_sex=record.patient_sex,
                )
                new_patients.append(holder)
                if record.ins:
                    by_ins[record.ins] = holder
            identifier = PatientIdentifier(
                establishment=establishment,
                patient_id=patient_id,
                patient_record=holder,
                patient_name=record.patient_name,
                patient_birth_date=record.patient_birth_date,
                patient_sex=record.patient_sex,
            )
            if holder.pk is not None:
                linked_by_ins.append(identifier)
            new_identifiers.append(identifier)
            identifiers[patient_id] = identifier
            continue

        identifier.establishment = establishment  # known: spares a query per label
        if _differs(identifier, record):
            _copy_demographics(identifier, record, now)
            changed_identifiers.append(identifier)
        patient = identifier.patient_record
        if patient.pk in sole_owner and _differs(patient, record):
            _copy_demographics(patient, record, now)
            changed_patients[patient.pk] = patient
        if not record.ins or record.ins == patient.ins:
            continue
        holder = by_ins.get(record.ins)
        if patient.ins:
            result.findings.append(
                Finding("ins_mismatch", record.study_instance_uid, "OtherPatientIDsSequence")
            )
        elif identifier.ins_link_blocked:
            result.findings.append(
                Finding("ins_link_blocked", record.study_instance_uid, "OtherPatientIDsSequence")
            )
        elif holder is None:
            patient.ins = record.ins
            patient.updated_at = now
            changed_patients[patient.pk] = patient
            by_ins[record.ins] = patient
        else:
            moves.append((identifier, holder))

    Patient.objects.bulk_create(new_patients)
    if changed_patients:
        Patient.objects.bulk_update(
            list(changed_patients.values()), [*DEMOGRAPHIC_FIELDS, "ins", "updated_at"]
        )
    PatientIdentifier.objects.bulk_create(new_identifiers)
    if changed_identifiers:
        PatientIdentifier.objects.bulk_update(
            changed_identifiers, [*DEMOGRAPHIC_FIELDS, "updated_at"]
        )
    for identifier, holder in moves:
        identifier_move(
            identifier=identifier, to_patient=holder, action=PatientLinkEvent.Action.INS_LINK
        )
    if linked_by_ins:
        PatientLinkEvent.objects.bulk_create(
            PatientLinkEvent(
                action=PatientLinkEvent.Action.INS_LINK,
                patient_pk=identifier.patient_record.pk,
                identifier=f"{establishment.finess_eg}:{identifier.patient_id}",
                by_label="synchronisation",
            )
            for identifier in linked_by_ins
        )
    result.patients_created += len(new_patients)
    result.ins_links += len(moves) + len(linked_by_ins)
    return identifiers


def _upsert_studies(
    source: ArchiveSource,
    records: list[StudyRecord],
    identifiers: dict[str, PatientIdentifier],
    now: datetime.datetime,
) -> int:
    rows: dict[str, ImagingStudy] = {}
    for record in records:
        identifier = identifiers.get(record.patient_id) if record.patient_id else None
        rows[record.study_instance_uid] = ImagingStudy(
            study_instance_uid=record.study_instance_uid,
            patient=identifier.patient_record if identifier else None,
            patient_identifier=identifier,
            accession_number=record.accession_number,
            study_date=record.study_date,
            study_time=record.study_time,
            modalities=record.modalities,
            study_description=record.study_description,
            series_count=record.series_count,
            instance_count=record.instance_count,
            establishment_id=source.establishment_id,
            report_available=record.report_available,
            archive_id=record.archive_id,
            source=source,
            seen_at=now,
            deleted_at=None,
        )
    if rows:
        ImagingStudy.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["study_instance_uid"],
            update_fields=STUDY_UPDATE_FIELDS,
            batch_size=500,
        )
    return len(rows)


def _mark_deleted(source: ArchiveSource, archive_ids: list[str], now: datetime.datetime) -> int:
    if not archive_ids:
        return 0
    return ImagingStudy.objects.filter(
        source=source, archive_id__in=archive_ids, deleted_at__isnull=True
    ).update(deleted_at=now, updated_at=now)


def write_page(
    source: ArchiveSource,
    fetched: list[Fetched],
    *,
    cursor_move: tuple[int, int] | None = None,
    changes_read: int = 0,
    stage_hook: StageHook | None = None,
) -> PageResult:
    """Apply one page to the index in one transaction, the cursor move included.

    ``cursor_move`` is ``(from, to)``: the cursor only moves if it still reads ``from``.
    ``stage_hook(stage, count)`` is called after each stage inside the transaction: tests raise
    from it to crash a run half-way, the benchmark samples memory with it.
    """
    result = PageResult(changes_read=changes_read)
    records = [item.record for item in fetched if item.record is not None]
    gone = [item.archive_id for item in fetched if item.gone]
    for item in fetched:
        if item.finding is not None:
            result.findings.append(item.finding)
        if item.record is not None:
            result.findings.extend(item.record.findings)
    now = timezone.now()
    with transaction.atomic():
        identifiers = _upsert_patients(source, records, result, now)
        if stage_hook:
            stage_hook("patients", len(identifiers))
        result.studies_upserted = _upsert_studies(source, records, identifiers, now)
        if stage_hook:
            stage_hook("studies", result.studies_upserted)
        result.studies_deleted = _mark_deleted(source, gone, now)
        if cursor_move is not None:
            start, end = cursor_move
            moved = ArchiveSource.objects.filter(pk=source.pk, cursor=start).update(
                cursor=end,
                archive_last_seq=Greatest("archive_last_seq", Value(end)),
                progress_done=F("progress_done") + changes_read,
                updated_at=now,
            )
            if moved != 1:
                raise CursorMoved
    return result


# --- Runs ---------------------------------------------------------------------------------------


def _record_start(source: ArchiveSource, *, archive_last: int, cursor: int) -> None:
    now = timezone.now()
    ArchiveSource.objects.filter(pk=source.pk).update(
        state=ArchiveSource.State.RUNNING,
        last_attempt_at=now,
        archive_last_seq=archive_last,
        progress_done=0,
        progress_total=max(0, archive_last - cursor),
        updated_at=now,
    )


def _record_success(source: ArchiveSource, report: SyncReport) -> None:
    now = timezone.now()
    report.finished_at = now
    values: dict[str, Any] = {
        "last_error": "",
        "last_error_kind": "",
        "failure_count": 0,
        "next_attempt_at": None,
        "updated_at": now,
    }
    if report.mode == "reconcile":
        values["last_reconciled_at"] = now
        values["last_reconcile_report"] = report.as_dict()
    else:
        values["state"] = ArchiveSource.State.IDLE
        values["last_success_at"] = now
        values["last_report"] = report.as_dict()
    ArchiveSource.objects.filter(pk=source.pk).update(**values)
    source.refresh_from_db()


def _record_failure(source: ArchiveSource, report: SyncReport, *, message: str, kind: str) -> None:
    now = timezone.now()
    report.finished_at = now
    failures = (
        ArchiveSource.objects.filter(pk=source.pk).values_list("failure_count", flat=True).first()
        or 0
    ) + 1
    values: dict[str, Any] = {
        "state": ArchiveSource.State.FAILED,
        "last_attempt_at": now,
        "last_error": message,
        "last_error_kind": kind,
        "failure_count": failures,
        "next_attempt_at": now + datetime.timedelta(seconds=backoff_seconds(failures)),
        "updated_at": now,
    }
    if report.mode == "reconcile":
        values["last_reconcile_report"] = report.as_dict()
    else:
        values["last_report"] = report.as_dict()
    ArchiveSource.objects.filter(pk=source.pk).update(**values)
    source.refresh_from_db()


class _Run:
    """Shared bookkeeping of a sync or reconciliation run: client, threads, failures."""

    def __init__(self, source: ArchiveSource, client: OrthancClient | None, mode: str) -> None:
        self.source = source
        self.client = client
        self.report = SyncReport(mode=mode)

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self.client is not None:
            self.client.close()
        if exc is None:
            _record_success(self.source, self.report)
        elif isinstance(exc, CursorMoved):
            self.report.superseded = True
            return True  # another run owns the source now: leave its state alone
        elif isinstance(exc, OrthancError):
            _record_failure(self.source, self.report, message=exc.message, kind=exc.kind)
        else:
            _record_failure(
                self.source,
                self.report,
                message=_("Erreur interne pendant la synchronisation ; elle sera reprise."),
                kind=ArchiveSource.ErrorKind.PROTOCOL,
            )
        return False

    def open_client(self) -> OrthancClient:
        if self.client is None:
            self.client = archive_source_client(self.source)
        return self.client


def source_sync(
    *,
    source: ArchiveSource,
    client: OrthancClient | None = None,
    page_size: int | None = None,
    time_budget_s: float | None = None,
    stage_hook: StageHook | None = None,
) -> SyncReport:
    """Read the archive's change feed from the stored cursor into the index.

    Stops when the feed is exhausted (``report.done``) or after ``time_budget_s`` seconds
    (None: no limit), at a page boundary. Orthanc errors are recorded on the source (shown on
    its page, with a backoff) and raised.
    """
    size = page_size or page_size_setting()
    deadline = time.monotonic() + time_budget_s if time_budget_s else None
    with _Run(source, client, "sync") as run:
        orthanc = run.open_client()
        archive_last = orthanc.last_change_seq()
        cursor = source.cursor
        if archive_last < cursor:
            # The archive's database was rebuilt: its change numbers started again. Reading it
            # from the start is harmless (upserts) and misses nothing.
            run.report.add_findings(
                [Finding("archive_reset", "", detail=f"{cursor}>{archive_last}")]
            )
            ArchiveSource.objects.filter(pk=source.pk, cursor=cursor).update(cursor=0)
            cursor = 0
        _record_start(source, archive_last=archive_last, cursor=cursor)
        # While one page is written, the next is read: the database work hides behind the
        # archive's answers. At most two pages are in memory.
        with (
            ThreadPoolExecutor(max_workers=fetch_workers_setting()) as pool,
            ThreadPoolExecutor(max_workers=1) as ahead,
        ):
            upcoming = ahead.submit(read_change_page, orthanc, pool, since=cursor, limit=size)
            while True:
                page, fetched = upcoming.result()
                if page.last < cursor:
                    raise OrthancProtocolError(
                        _("Le journal des changements de l'archive est revenu en arrière.")
                    )
                finished = page.done or not page.changes
                out_of_time = deadline is not None and time.monotonic() > deadline
                if not (finished or out_of_time):
                    upcoming = ahead.submit(
                        read_change_page, orthanc, pool, since=page.last, limit=size
                    )
                result = write_page(
                    source,
                    fetched,
                    cursor_move=(cursor, page.last),
                    changes_read=len(page.changes),
                    stage_hook=stage_hook,
                )
                run.report.merge(result)
                cursor = page.last
                if finished:
                    run.report.done = True
                if finished or out_of_time:
                    break
    return run.report


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def source_reconcile(
    *,
    source: ArchiveSource,
    client: OrthancClient | None = None,
    page_size: int = 1000,
) -> SyncReport:
    """Compare the archive's full study list with the index and repair the index.

    Studies the archive has and the index lacks (or holds as deleted) are fetched and
    upserted; studies of this source the list did not show are checked one by one: a 404
    marks them deleted, anything else upserts them again. The cursor does not move.
    """
    run_started = timezone.now()
    chunk = page_size_setting()
    with _Run(source, client, "reconcile") as run:
        orthanc = run.open_client()
        with ThreadPoolExecutor(max_workers=fetch_workers_setting()) as pool:
            for archive_ids in orthanc.iter_study_ids(page_size=page_size):
                known = set(
                    ImagingStudy.objects.filter(
                        source=source, archive_id__in=archive_ids, deleted_at__isnull=True
                    ).values_list("archive_id", flat=True)
                )
                if known:
                    ImagingStudy.objects.filter(source=source, archive_id__in=known).update(
                        seen_at=run_started
                    )
                missing = [archive_id for archive_id in archive_ids if archive_id not in known]
                for ids in _chunks(missing, chunk):
                    result = write_page(source, fetch_studies(orthanc, ids, pool))
                    run.report.studies_recovered += result.studies_upserted
                    run.report.merge(result)
            # Anything of this source not seen since the walk began has vanished, or the walk
            # skipped it (the list moved while paged): ask the archive about each.
            last_pk = 0
            while True:
                batch = list(
                    ImagingStudy.objects.filter(
                        source=source, deleted_at__isnull=True, pk__gt=last_pk
                    )
                    .filter(Q(seen_at__lt=run_started) | Q(seen_at__isnull=True))
                    .order_by("pk")
                    .values_list("pk", "archive_id")[:chunk]
                )
                if not batch:
                    break
                last_pk = batch[-1][0]
                ids = [archive_id for _pk, archive_id in batch if archive_id]
                result = write_page(source, fetch_studies(orthanc, ids, pool))
                run.report.merge(result)
        run.report.done = True
    return run.report
