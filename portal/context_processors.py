"""What every page's layout needs: the demo flag and the navigation of the user's roles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.navigation import navigation_for
from portal.roles import Role, roles_of


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user)
    return {
        "PORTAL_DEMO": settings.PORTAL_DEMO,
        "user_roles": [role for role in Role if role in roles],
        "navigation": navigation_for(request, roles),
    }
