"""Celery task of the telephony directory sync: thin, it calls the service."""

from __future__ import annotations

from portal.celery import idempotent_task
from practitioners.directory_sync import SyncReport, directories_to_sync, sync_all


@idempotent_task(name="practitioners.sync_telephony_directories")
def sync_telephony_directories() -> dict[str, int]:
    """Sync every enabled directory (the beat entry). A failure is recorded on its directory
    (shown to the referent) and does not stop the others; the next run tries again."""
    outcomes = sync_all(directories=directories_to_sync())
    synced = sum(1 for outcome in outcomes.values() if isinstance(outcome, SyncReport))
    return {"synced": synced, "failed": len(outcomes) - synced}
