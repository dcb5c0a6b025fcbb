"""Home panels and menu entries of the access app: the practitioner's (their rights in force,
their patients, the search), the patient's (their record, emergency accesses to read) and
the auditor's (emergency accesses to review, the trail)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from access.audit_home import auditor_panel_context
from access.patient_portal import patient_of, unacknowledged_emergencies
from access.timeline import rights_summary
from portal.home import register_home_panel
from portal.navigation import register_nav_item
from portal.roles import Role


def _practitioner_context(request: HttpRequest) -> dict[str, Any]:
    summary = rights_summary(user=request.user)
    return {"grants": summary.grants, "emergencies": summary.emergencies}


def _patient_context(request: HttpRequest) -> dict[str, Any]:
    patient = patient_of(user=request.user)
    emergencies = unacknowledged_emergencies(patient=patient) if patient else []
    return {"emergencies": emergencies}


def register() -> None:
    register_home_panel(
        "access.practitioner",
        role=Role.PRACTITIONER,
        template="access/practitioner/home.html",
        order=45,
        context=_practitioner_context,
    )
    register_nav_item(
        "access:my-patients", label=_("Mes patients"), roles=[Role.PRACTITIONER], order=45
    )
    register_home_panel(
        "access.patient",
        role=Role.PATIENT,
        template="access/patient/home.html",
        order=61,
        context=_patient_context,
    )
    register_nav_item(
        "patient_portal:exams", label=_("Mon dossier"), roles=[Role.PATIENT], order=44
    )
    # The auditor's panel lives with the trail's template; its figures come from this app.
    register_home_panel(
        "audit.auditor",
        role=Role.AUDITOR,
        template="audit/home/auditor.html",
        order=20,
        context=auditor_panel_context,
    )
    register_nav_item(
        "access:break-glass-queue", label=_("Accès d'urgence"), roles=[Role.AUDITOR], order=50
    )
    register_nav_item(
        "access:audit-events", label=_("Piste des accès"), roles=[Role.AUDITOR], order=51
    )
