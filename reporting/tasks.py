from __future__ import annotations

from portal.celery import idempotent_task


@idempotent_task(name="reporting.update_rollups", time_limit=3600, soft_time_limit=3300)
def update_rollups() -> int:
    """Bring the daily rollups up to date (today's rows again, the recent days again)."""
    from reporting.rollups import rollups_update

    return rollups_update()
