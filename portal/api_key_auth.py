"""API-key authentication of the REST API: ``Authorization: Api-Key <key>``.

The key acts as its user: DRF's ``request.user`` is the key's owner (``request.auth`` the
``ApiKey``), so that every role and object-level check of the API applies unchanged. The key
is not a cookie, so its requests need no CSRF token; session requests keep theirs
(``SessionAuthentication`` comes first in ``REST_FRAMEWORK``).

A key that is unknown, malformed, expired or revoked, or whose user is deactivated, answers
401 with a ``WWW-Authenticate: Api-Key`` challenge and one message that does not tell which.
A user who must have a second factor and no longer has one gets the 403 a session would get.
Once authenticated, the request is answered in the user's language (``preferred_language``),
as their session would be; refusals before that are in French.
An address that presented ``API_KEY_FAILURES_PER_IP`` refused keys in
``API_KEY_FAILURES_WINDOW_S`` gets 429 for any key until that window ends, the key unread.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from portal.api_key_models import ApiKey
from portal.api_keys import api_key_find, api_key_touch
from portal.attempts import attempts_count, attempts_so_far
from portal.http import client_ip
from portal.middleware import MFA_API_REFUSAL
from portal.models import User
from portal.roles import mfa_required

logger = logging.getLogger(__name__)

KEYWORD = "Api-Key"


class ApiKeyRefused(exceptions.APIException):
    """401 with its challenge. Not an ``AuthenticationFailed``: DRF asks the first
    authentication class (the session's, which has no challenge) for the header of those, and
    turns them into 403 when it has none."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = gettext_lazy(
        "Clé d'API refusée : elle est inconnue, mal formée, expirée ou révoquée, ou son "
        "compte est désactivé."
    )
    default_code = "authentication_failed"

    def __init__(self, auth_header: str) -> None:
        super().__init__()
        self.auth_header = auth_header


class ApiKeyAttemptsExceeded(exceptions.Throttled):
    def __init__(self, wait_s: int) -> None:
        minutes = max(1, -(-wait_s // 60))
        super().__init__(
            wait=wait_s,
            detail=gettext(
                "Trop de clés d'API refusées depuis cette adresse : réessayez dans "
                "%(minutes)s minutes au plus."
            )
            % {"minutes": minutes},
        )


def _failures_key(ip: str | None) -> str | None:
    return f"portal:api-key-failures:{ip}" if ip else None


def _speak_language_of(user: User, request: Request) -> None:
    """Answer in the key's user's language, as a session would (``LanguageMiddleware`` chose
    before the key was read): unless the request chose one with the language cookie."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    language = user.preferred_language
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    translation.activate(language)
    request._request.LANGUAGE_CODE = language


class ApiKeyAuthentication(BaseAuthentication):
    """DRF authentication by an ``Authorization: Api-Key <key>`` header (``portal.api_keys``).

    A request without that header is left to the other classes (None); one with it is either
    authenticated as the key's user or refused, never passed on.
    """

    keyword = KEYWORD

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, credentials = header.strip().partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        ip = client_ip(request._request)
        failures = _failures_key(ip)
        limit = int(settings.API_KEY_FAILURES_PER_IP)
        window = int(settings.API_KEY_FAILURES_WINDOW_S)
        if failures is not None and attempts_so_far(failures) >= limit:
            raise ApiKeyAttemptsExceeded(window)
        now = timezone.now()
        key = api_key_find(key=credentials) if " " not in credentials.strip() else None
        if key is None or not key.is_usable(now) or not key.user.is_active:
            if failures is not None and attempts_count([failures], window_s=window) == limit:
                logger.warning("API keys: %s refused keys from one address, now held", limit)
            raise ApiKeyRefused(self.authenticate_header(request))
        user = key.user
        if mfa_required(user) and not is_mfa_enabled(user):
            raise exceptions.PermissionDenied(MFA_API_REFUSAL)
        api_key_touch(key=key, ip=ip, at=now)
        _speak_language_of(user, request)
        return user, key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The scheme in /api/schema/ (and the "Authorize" button of /api/docs/)."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": gettext(
                "Clé d'API créée sur la page « Clés d'API » du compte, précédée de "
                "« Api-Key » : « Authorization: Api-Key pik_… ». La clé agit pour son "
                "utilisateur, avec ses rôles ; sans jeton CSRF."
            ),
        }
