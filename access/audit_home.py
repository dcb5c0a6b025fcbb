"""The auditor's home panel (template ``audit/home/auditor.html``): ``audit`` sits below
``access`` and cannot count emergency accesses, so ``access`` gives the panel its context."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from access.trail import break_glass_pending_count


def auditor_panel_context(request: HttpRequest) -> dict[str, Any]:
    return {"pending": break_glass_pending_count()}
