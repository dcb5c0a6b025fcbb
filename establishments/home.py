"""Home panels of regional administrators, directors, referents and people with no role yet,
and the establishments' entries of the main navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from establishments.models import Establishment, Membership
from establishments.selectors import (
    applications_of,
    establishment_counts_by_status,
    establishment_team,
    memberships_of,
    submitted_application_count,
)
from portal.home import register_home_panel
from portal.navigation import register_nav_item
from portal.roles import Role


def _network_context(request: HttpRequest) -> dict[str, Any]:
    counts = establishment_counts_by_status()
    return {
        "establishment_counts": [
            {"status": label, "count": counts[value]}
            for value, label in Establishment.Status.choices
        ],
        "submitted_applications": submitted_application_count(),
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


def _declare_context(request: HttpRequest) -> dict[str, Any]:
    return {"applications": list(applications_of(user=request.user)[:5])}  # type: ignore[arg-type]


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
    # Shown beside portal's welcome panel to signed-in users who hold no role yet.
    register_home_panel(
        "establishments.declare",
        role=None,
        template="establishments/home/no_role.html",
        order=110,
        context=_declare_context,
    )
    register_nav_item(
        "establishments:list", label=_("Établissements"), roles=[Role.REGIONAL_ADMIN], order=20
    )
    register_nav_item(
        "establishments:application_list",
        label=_("Demandes d'adhésion"),
        roles=[Role.REGIONAL_ADMIN],
        order=21,
    )
    register_nav_item(
        "establishments:mine",
        label=_("Mon établissement"),
        roles=[Role.DIRECTOR, Role.REFERENT],
        order=20,
    )
