"""Home panels of regional administrators, directors and referents."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from establishments.models import Establishment, Membership
from establishments.selectors import (
    establishment_counts_by_status,
    establishment_team,
    memberships_of,
)
from portal.home import register_home_panel
from portal.roles import Role


def _network_context(request: HttpRequest) -> dict[str, Any]:
    counts = establishment_counts_by_status()
    return {
        "establishment_counts": [
            {"status": label, "count": counts[value]}
            for value, label in Establishment.Status.choices
        ]
    }


def _establishments_context(role: str) -> Any:
    def context(request: HttpRequest) -> dict[str, Any]:
        memberships = memberships_of(user=request.user, roles=[role])  # type: ignore[arg-type]
        return {
            "establishments": [
                {
                    "establishment": membership.establishment,
                    "team": list(establishment_team(establishment=membership.establishment)),
                }
                for membership in memberships
            ]
        }

    return context


def register() -> None:
    register_home_panel(
        "establishments.network",
        role=Role.REGIONAL_ADMIN,
        template="establishments/home/regional_admin.html",
        order=10,
        context=_network_context,
    )
    register_home_panel(
        "establishments.director",
        role=Role.DIRECTOR,
        template="establishments/home/director.html",
        order=30,
        context=_establishments_context(Membership.Role.DIRECTOR),
    )
    register_home_panel(
        "establishments.referent",
        role=Role.REFERENT,
        template="establishments/home/referent.html",
        order=40,
        context=_establishments_context(Membership.Role.REFERENT),
    )
