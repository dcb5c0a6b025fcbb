"""Home panels and menu entries of the funder indicators and reports."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.home import register_home_panel
from portal.navigation import register_nav_item
from portal.roles import Role
from reporting.funder_report import funder_reports_recent


def _regional_context(request: HttpRequest) -> dict[str, Any]:
    latest = list(funder_reports_recent(limit=1))
    return {"latest": latest[0] if latest else None}


def register() -> None:
    """Called by ``ReportingConfig.ready``."""
    register_home_panel(
        "reporting.funder_reports",
        role=Role.REGIONAL_ADMIN,
        template="reporting/reports/home_regional_admin.html",
        order=40,
        context=_regional_context,
    )
    register_nav_item(
        "reports:report-list",
        label=_("Rapports financeurs"),
        roles=[Role.REGIONAL_ADMIN],
        order=75,
    )
