"""Roles of DESIGN.md and the helpers that views and the API use to check them.

Regional administrators and auditors are Django groups. The other roles live in the apps
above this one (a director is a ``Membership``, a practitioner has an ``Accreditation``...);
since ``portal`` may not import them, each of those apps registers a resolver at start-up
(``register_role_resolver`` in its ``AppConfig.ready``) and ``roles_of`` asks them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from portal.models import User

    AnyUser = User | AbstractBaseUser | AnonymousUser


class Role(models.TextChoices):
    REGIONAL_ADMIN = "regional_admin", _("Administration régionale")
    AUDITOR = "auditor", _("Audit et protection des données")
    DIRECTOR = "director", _("Direction d'établissement")
    REFERENT = "referent", _("Référent d'établissement")
    PRACTITIONER = "practitioner", _("Professionnel de santé")
    PATIENT = "patient", _("Patient")


# Roles held through a Django group; the group's name is the role's value.
GROUP_ROLES: tuple[Role, ...] = (Role.REGIONAL_ADMIN, Role.AUDITOR)
# Roles whose holders must enrol a second factor before anything else (all but patients).
MFA_ROLES: frozenset[Role] = frozenset(set(Role) - {Role.PATIENT})

RoleResolver = Callable[["User"], Iterable[Role]]
_resolvers: dict[str, RoleResolver] = {}


def register_role_resolver(name: str, resolver: RoleResolver) -> None:
    """Let an app tell which roles a user holds through its models (one query at most)."""
    _resolvers[name] = resolver


_CACHE_ATTR = "_portal_roles"


def roles_of(user: AnyUser | None) -> frozenset[Role]:
    """Every role ``user`` holds now; cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached: frozenset[Role] | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    names = set(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))
    roles = {role for role in GROUP_ROLES if role.value in names}
    for resolver in _resolvers.values():
        roles.update(resolver(user))  # type: ignore[arg-type]
    result = frozenset(roles)
    setattr(user, _CACHE_ATTR, result)
    return result


def forget_roles(user: AnyUser) -> None:
    """Drop the cached roles after a change (a new membership, a revoked accreditation)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_role(user: AnyUser | None, *roles: Role) -> bool:
    """True when ``user`` holds at least one of ``roles``."""
    return bool(roles_of(user) & set(roles))


def is_regional_admin(user: AnyUser | None) -> bool:
    return has_role(user, Role.REGIONAL_ADMIN)


def is_auditor(user: AnyUser | None) -> bool:
    return has_role(user, Role.AUDITOR)


def mfa_required(user: AnyUser | None) -> bool:
    """Whether ``user`` must have a second factor before using the portal.

    Everybody but patients: staff and practitioners reach patient data or run the network, and
    an account with no role yet is on its way to becoming one of them. Superusers too. The
    demonstration (``PORTAL_DEMO``) enforces nothing.
    """
    if not getattr(settings, "PORTAL_MFA_ENFORCED", True) or settings.PORTAL_DEMO:
        return False
    if user is None or not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    roles = roles_of(user)
    return not roles or bool(roles & MFA_ROLES)


def has_second_factor(user: AnyUser | None) -> bool:
    """Whether ``user`` can confirm a grave act (a signature, an emergency access) with a
    second factor: an authenticator on the account, whatever ``PORTAL_MFA_ENFORCED`` says.
    The demonstration needs none."""
    if settings.PORTAL_DEMO:
        return True
    from allauth.mfa.utils import is_mfa_enabled

    return bool(user is not None and user.is_authenticated and is_mfa_enabled(user))


F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: Role) -> Callable[[F], F]:
    """View decorator: 403 unless the signed-in user holds one of ``roles``.

    Anonymous users are sent to the sign-in page by ``login_required`` semantics.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


class HasRole(BasePermission):
    """DRF permission: ``permission_classes = [HasRole.of(Role.AUDITOR)]``."""

    roles: tuple[Role, ...] = ()

    @classmethod
    def of(cls, *roles: Role) -> type[HasRole]:
        return type("HasRole_" + "_".join(r.value for r in roles), (cls,), {"roles": roles})

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request.user, *self.roles)
