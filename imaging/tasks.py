"""Celery tasks of the imaging app: thin, by id; the work is in ``imaging.sync``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from imaging.models import ArchiveSource
from imaging.orthanc import OrthancError, OrthancUnreachable
from imaging.selectors import enabled_source_ids, sources_due_for_sync
from imaging.services import archive_sources_mark_queued
from imaging.sync import backoff_seconds, source_reconcile, source_sync
from portal.celery import app, idempotent_task

# A sync run stops at a page boundary after this long and queues its own continuation, well
# inside the Celery time limit.
DEFAULT_TIME_BUDGET_S = 300


@idempotent_task(name="imaging.sync_source", bind=True, max_retries=8)
def sync_source(self: Any, source_id: int) -> dict[str, Any]:
    """Read one archive's change feed into the index; back off while it is unreachable."""
    source = ArchiveSource.objects.select_related("establishment").filter(pk=source_id).first()
    if source is None:
        return {"skipped": "unknown source"}
    budget = getattr(settings, "IMAGING_SYNC_TIME_BUDGET_S", DEFAULT_TIME_BUDGET_S)
    try:
        report = source_sync(source=source, time_budget_s=budget)
    except OrthancUnreachable as exc:
        # Recorded on the source already. In-process (demo, tests) a retry would run at once.
        if self.request.is_eager:
            return {"error": exc.kind}
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries + 1)) from exc
    except OrthancError as exc:
        return {"error": exc.kind}  # bad credentials or configuration: a person must act
    if not report.done and not report.superseded:
        sync_source.apply_async(args=(source_id,))
    return {"done": report.done, "studies": report.studies_upserted}


@app.task(name="imaging.sync_due_sources")
def sync_due_sources() -> int:
    """Beat, every minute: queue a sync of every enabled archive that is due."""
    source_ids = list(sources_due_for_sync())
    archive_sources_mark_queued(source_ids=source_ids)
    for source_id in source_ids:
        sync_source.apply_async(args=(source_id,))
    return len(source_ids)


@idempotent_task(name="imaging.reconcile_source")
def reconcile_source(source_id: int) -> dict[str, Any]:
    """Compare one archive's full study list with the index (deletions, missed studies)."""
    source = ArchiveSource.objects.select_related("establishment").filter(pk=source_id).first()
    if source is None:
        return {"skipped": "unknown source"}
    try:
        report = source_reconcile(source=source)
    except OrthancError as exc:
        return {"error": exc.kind}
    return {"recovered": report.studies_recovered, "deleted": report.studies_deleted}


@app.task(name="imaging.reconcile_all_sources")
def reconcile_all_sources() -> int:
    """Beat, nightly: queue a reconciliation of every enabled archive."""
    source_ids = enabled_source_ids()
    for source_id in source_ids:
        reconcile_source.apply_async(args=(source_id,))
    return len(source_ids)
