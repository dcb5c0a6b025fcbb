"""Home panels and menu entries of the dashboards: this month's figures for regional
administrators (the region) and directors (their establishments), with the way in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from establishments.selectors import directed_establishments
from portal.home import register_home_panel
from portal.http import signed_in_user
from portal.navigation import register_nav_item
from portal.roles import Role
from reporting.charts import french_number
from reporting.exports import long_date
from reporting.periods import Period, period_parse
from reporting.selectors import (
    MEASURES,
    establishments_table,
    region_figures,
    rollups_complete_until,
)

# The panel's few figures, of the current month.
PANEL_MEASURES = (
    "studies_produced",
    "outside_accesses",
    "practitioners_accessing",
    "portal_patients",
)


def _this_month() -> Period:
    today = timezone.localdate()
    return period_parse(f"{today.year}-{today.month:02d}")


def _figures(values: Any) -> list[dict[str, Any]]:
    return [
        {"label": MEASURES[name].label, "value": french_number(values[name])}
        for name in PANEL_MEASURES
    ]


def _freshness() -> str:
    complete_until = rollups_complete_until()
    return long_date(complete_until) if complete_until else ""


def _regional_context(request: HttpRequest) -> dict[str, Any]:
    period = _this_month()
    return {
        "period": period,
        "figures": _figures(region_figures(period=period)),
        "complete_until": _freshness(),
    }


def _director_context(request: HttpRequest) -> dict[str, Any]:
    period = _this_month()
    establishments = list(directed_establishments(user=signed_in_user(request)).order_by("name"))
    # One query for all of them, however many establishments the director runs.
    lines = establishments_table(period=period, establishments=establishments)
    lines.sort(key=lambda line: line.establishment.name)
    return {
        "period": period,
        "establishments": [
            {"establishment": line.establishment, "figures": _figures(line.figures)}
            for line in lines
        ],
        "complete_until": _freshness(),
    }


def register() -> None:
    """Called by ``ReportingConfig.ready``."""
    register_home_panel(
        "reporting.regional",
        role=Role.REGIONAL_ADMIN,
        template="reporting/home/regional_admin.html",
        order=15,
        context=_regional_context,
    )
    register_home_panel(
        "reporting.director",
        role=Role.DIRECTOR,
        template="reporting/home/director.html",
        order=32,
        context=_director_context,
    )
    # Not "Pilotage": the funder reports beside it are steering too, and its English
    # ("Management") read as the hospital's management.
    register_nav_item(
        "reporting:region", label=_("Tableaux de bord"), roles=[Role.REGIONAL_ADMIN], order=70
    )
    register_nav_item(
        "reporting:mine", label=_("Tableaux de bord"), roles=[Role.DIRECTOR], order=70
    )
