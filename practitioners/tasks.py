"""Periodic tasks of accreditations: thin wrappers around the services (safe to replay)."""

from __future__ import annotations

import datetime

from portal.celery import idempotent_task
from practitioners.services import accreditations_expire, accreditations_send_renewal_reminders


def _day(today: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(today) if today else None


@idempotent_task(name="practitioners.send_renewal_reminders", time_limit=600, soft_time_limit=570)
def send_renewal_reminders(today: str | None = None) -> int:
    """Remind practitioners whose accreditation ends soon (once per accreditation)."""
    return accreditations_send_renewal_reminders(today=_day(today))


@idempotent_task(name="practitioners.expire_accreditations", time_limit=600, soft_time_limit=570)
def expire_accreditations(today: str | None = None) -> int:
    """Mark as expired the accreditations whose period is over."""
    return accreditations_expire(today=_day(today))


# Celery discovers ``<app>.tasks`` only: the telephony directory's task lives in its own module.
from practitioners import directory_tasks  # noqa: E402, F401
