"""Directors and referents are who their memberships say."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from portal.roles import Role, register_role_resolver

if TYPE_CHECKING:
    from portal.models import User

_MEMBERSHIP_ROLES = {"director": Role.DIRECTOR, "referent": Role.REFERENT}


def membership_roles(user: User) -> Iterable[Role]:
    from establishments.models import Membership

    held = (
        Membership.objects.active()
        .filter(user=user, role__in=_MEMBERSHIP_ROLES)
        .values_list("role", flat=True)
    )
    return {_MEMBERSHIP_ROLES[value] for value in held}


def register() -> None:
    register_role_resolver("establishments.membership", membership_roles)
