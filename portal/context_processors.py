"""What every page's layout needs: the demo flag and the navigation of the user's roles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.api_keys import api_keys_offered
from portal.middleware import MFA_NEXT_KEY
from portal.navigation import navigation_for
from portal.roles import Role, roles_of


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user)
    return {
        "mfa_next": _path_before_mfa(request),
        "PORTAL_DEMO": settings.PORTAL_DEMO,
        "user_roles": [role for role in Role if role in roles],
        "navigation": navigation_for(request, roles),
        "api_keys_offered": api_keys_offered(user),
    }


def _path_before_mfa(request: HttpRequest) -> str | None:
    """The page a user was sent away from to enrol MFA, once they have enrolled."""
    from allauth.mfa.utils import is_mfa_enabled

    session = getattr(request, "session", None)
    if session is None or not request.user.is_authenticated:
        return None
    path = session.get(MFA_NEXT_KEY)
    if not path or not request.path.startswith("/accounts/") or not is_mfa_enabled(request.user):
        return None
    return str(path)
