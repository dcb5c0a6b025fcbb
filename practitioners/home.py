"""Home panels: the practitioner's accreditation, the reviewers' queue, the regional count, and
the way in for a signed-in user with no role yet (ask for accreditation, follow the request)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.home import register_home_panel
from portal.roles import Role
from practitioners.models import AccreditationRequest
from practitioners.selectors import (
    accredited_practitioner_count,
    current_accreditation,
    latest_accreditation,
    open_request_of,
    practice_sites_of,
    practitioner_of,
    requests_reviewable_by,
)


def _practitioner_context(request: HttpRequest) -> dict[str, Any]:
    practitioner = practitioner_of(user=request.user)  # type: ignore[arg-type]
    if practitioner is None:
        return {"practitioner": None, "accreditation": None, "sites": []}
    return {
        "practitioner": practitioner,
        "accreditation": current_accreditation(practitioner=practitioner),
        "sites": list(practice_sites_of(practitioner=practitioner).exclude(status="ended")),
    }


def _open_review_count(request: HttpRequest) -> int:
    return (
        requests_reviewable_by(user=request.user)  # type: ignore[arg-type]
        .filter(status=AccreditationRequest.Status.SUBMITTED)
        .count()
    )


def _regional_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "accredited_count": accredited_practitioner_count(),
        "to_review": _open_review_count(request),
    }


def _reviewer_context(request: HttpRequest) -> dict[str, Any]:
    return {"to_review": _open_review_count(request)}


def _no_role_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    open_request = open_request_of(user=user)  # type: ignore[arg-type]
    practitioner = practitioner_of(user=user) if open_request is None else None  # type: ignore[arg-type]
    return {
        "open_request": open_request,
        "latest": latest_accreditation(practitioner=practitioner) if practitioner else None,
    }


def register() -> None:
    register_home_panel(
        "practitioners.regional",
        role=Role.REGIONAL_ADMIN,
        template="practitioners/home/regional_admin.html",
        order=11,
        context=_regional_context,
    )
    register_home_panel(
        "practitioners.referent",
        role=Role.REFERENT,
        template="practitioners/home/referent.html",
        order=41,
        context=_reviewer_context,
    )
    register_home_panel(
        "practitioners.practitioner",
        role=Role.PRACTITIONER,
        template="practitioners/home/practitioner.html",
        order=50,
        context=_practitioner_context,
    )
    register_home_panel(
        "practitioners.no_role",
        role=None,
        template="practitioners/home/no_role.html",
        order=20,
        context=_no_role_context,
    )
