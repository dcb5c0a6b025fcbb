"""A patient, for the portal, is a user linked to a patient record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from portal.roles import Role, register_role_resolver

if TYPE_CHECKING:
    from portal.models import User


def patient_roles(user: User) -> Iterable[Role]:
    from imaging.models import Patient

    return {Role.PATIENT} if Patient.objects.filter(user=user).exists() else set()


def register() -> None:
    register_role_resolver("imaging.patient", patient_roles)
