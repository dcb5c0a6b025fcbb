"""Home panel of accredited practitioners, and the regional count for administrators."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from establishments.selectors import memberships_of
from portal.home import register_home_panel
from portal.roles import Role
from practitioners.selectors import (
    accredited_practitioner_count,
    current_accreditation,
    practitioner_of,
)


def _practitioner_context(request: HttpRequest) -> dict[str, Any]:
    practitioner = practitioner_of(user=request.user)  # type: ignore[arg-type]
    return {
        "practitioner": practitioner,
        "accreditation": current_accreditation(practitioner=practitioner) if practitioner else None,
        "sites": list(memberships_of(user=request.user, roles=["staff"])),  # type: ignore[arg-type]
    }


def _regional_context(request: HttpRequest) -> dict[str, Any]:
    return {"accredited_count": accredited_practitioner_count()}


def register() -> None:
    register_home_panel(
        "practitioners.regional",
        role=Role.REGIONAL_ADMIN,
        template="practitioners/home/regional_admin.html",
        order=11,
        context=_regional_context,
    )
    register_home_panel(
        "practitioners.practitioner",
        role=Role.PRACTITIONER,
        template="practitioners/home/practitioner.html",
        order=50,
        context=_practitioner_context,
    )
