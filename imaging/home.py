"""Home panels of the imaging app: the patient's record, the referent's archive, and the
regional administrator's view of every archive."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from imaging.models import Patient
from imaging.selectors import archive_sources_for
from portal.home import register_home_panel
from portal.roles import Role


def _url(name: str) -> str | None:
    """The page's address, or None while portal/urls.py does not mount the imaging pages."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _patient_context(request: HttpRequest) -> dict[str, Any]:
    return {"patient": Patient.objects.filter(user__pk=request.user.pk or 0).first()}


def _archives_context(request: HttpRequest) -> dict[str, Any]:
    sources = list(archive_sources_for(user=request.user))
    return {
        "sources": sources,
        "failing": sum(1 for source in sources if source.last_error),
        "list_url": _url("imaging:source_list"),
        "volumes_url": _url("imaging:study_volumes"),
        "identities_url": _url("imaging:identity_search"),
    }


def register() -> None:
    register_home_panel(
        "imaging.patient",
        role=Role.PATIENT,
        template="imaging/home/patient.html",
        order=60,
        context=_patient_context,
    )
    register_home_panel(
        "imaging.referent",
        role=Role.REFERENT,
        template="imaging/home/referent.html",
        order=45,
        context=_archives_context,
    )
    register_home_panel(
        "imaging.regional_admin",
        role=Role.REGIONAL_ADMIN,
        template="imaging/home/regional_admin.html",
        order=15,
        context=_archives_context,
    )
