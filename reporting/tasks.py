from __future__ import annotations

from portal.celery import idempotent_task


@idempotent_task(name="reporting.update_rollups", time_limit=3600, soft_time_limit=3300)
def update_rollups() -> int:
    """Bring the daily rollups up to date (today's rows again, the recent days again)."""
    from reporting.rollups import rollups_update

    return rollups_update()


@idempotent_task(name="reporting.generate_funder_report", time_limit=900, soft_time_limit=870)
def generate_funder_report(report_id: int) -> str:
    """Generate the funder report ``report_id`` (its progress is kept on the report); returns
    its status. A replay leaves a finished report as it is."""
    from reporting.services import funder_report_generate

    return funder_report_generate(report_id=report_id).status
