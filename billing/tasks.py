"""Periodic work of billing: thin tasks that call one service."""

from __future__ import annotations

from django.utils import timezone

from billing.services import purchase_orders_apply_due_terminations
from portal.celery import idempotent_task


@idempotent_task(name="billing.apply_due_terminations", time_limit=600, soft_time_limit=570)
def apply_due_terminations() -> int:
    """Apply the terminations whose date has come (daily); a replay finds nothing left to do."""
    return purchase_orders_apply_due_terminations(today=timezone.localdate())
