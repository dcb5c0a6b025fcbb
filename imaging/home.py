"""Home panel of patients."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from imaging.models import Patient
from portal.home import register_home_panel
from portal.roles import Role


def _patient_context(request: HttpRequest) -> dict[str, Any]:
    return {"patient": Patient.objects.filter(user=request.user).first()}


def register() -> None:
    register_home_panel(
        "imaging.patient",
        role=Role.PATIENT,
        template="imaging/home/patient.html",
        order=60,
        context=_patient_context,
    )
