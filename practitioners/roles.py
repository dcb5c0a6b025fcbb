"""A practitioner, for the portal, is someone whose accreditation is in force today."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from portal.roles import Role, register_role_resolver

if TYPE_CHECKING:
    from portal.models import User


def accreditation_roles(user: User) -> Iterable[Role]:
    from practitioners.models import Accreditation

    if Accreditation.objects.active().filter(practitioner__user=user).exists():
        return {Role.PRACTITIONER}
    return set()


def register() -> None:
    register_role_resolver("practitioners.accreditation", accreditation_roles)
