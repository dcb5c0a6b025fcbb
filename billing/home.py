"""Home panels: orders awaiting countersignature (regional administrators), the
establishment's orders (directors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from billing.selectors import (
    purchase_orders_awaiting_countersignature,
    purchase_orders_visible_to,
)
from portal.home import register_home_panel
from portal.roles import Role

RECENT = 5


def _regional_context(request: HttpRequest) -> dict[str, Any]:
    return {"awaiting_count": purchase_orders_awaiting_countersignature().count()}


def _director_context(request: HttpRequest) -> dict[str, Any]:
    return {"orders": list(purchase_orders_visible_to(user=request.user)[:RECENT])}


def register() -> None:
    register_home_panel(
        "billing.regional",
        role=Role.REGIONAL_ADMIN,
        template="billing/home/regional_admin.html",
        order=20,
        context=_regional_context,
    )
    register_home_panel(
        "billing.director",
        role=Role.DIRECTOR,
        template="billing/home/director.html",
        order=35,
        context=_director_context,
    )
