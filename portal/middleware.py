"""Request-wide rules on signed-in sessions: absolute lifetime, language, MFA enrolment."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.roles import mfa_required

Handler = Callable[[HttpRequest], HttpResponse]

SESSION_STARTED_KEY = "portal_session_started_at"


class SessionLifetimeMiddleware:
    """End a signed-in session after ``SESSION_MAX_AGE_S`` seconds, however active it is.

    Inactivity is handled by the session cookie itself (``SESSION_COOKIE_AGE`` renewed on each
    request); this caps the total length so a stolen session cannot be kept alive forever.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - float(started) > settings.SESSION_MAX_AGE_S:
                logout(request)
                messages.info(request, _("Votre session a expiré. Merci de vous reconnecter."))
                return redirect(f"{reverse('account_login')}?next={request.path}")
        return self.get_response(request)


class LanguageMiddleware:
    """French first: the language switch's choice, else the account's preference, else French.

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not consulted: the
    portal speaks French unless its user asks otherwise.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        available = dict(settings.LANGUAGES)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in available and request.user.is_authenticated:
            language = getattr(request.user, "preferred_language", None)
        if language not in available:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # The language may change on the way (an API key's user: portal.api_key_auth).
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        patch_vary_headers(response, ("Cookie",))
        return response


# Where a user sent to enrol was going, offered back to them once enrolled (base.html).
MFA_NEXT_KEY = "portal_path_before_mfa"

# Paths a user without MFA may still reach: enrolment itself, signing out, the language switch,
# and the activation of the patient portal (a new account has no role yet; patients need none).
MFA_EXEMPT_PREFIXES = (
    "/accounts/",
    "/i18n/",
    "/static/",
    "/healthz",
    "/orthanc-auth/",
    "/mon-dossier/activer/",
)


# What the API answers (403) a caller who must have a second factor and has none, whether they
# come with a session (below) or an API key (portal/api_key_auth.py).
MFA_API_REFUSAL = gettext_lazy("Activez l'authentification à deux facteurs pour utiliser l'API.")


class MfaEnrolmentMiddleware:
    """Send staff and practitioners to enrol a second factor before anything else."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated or request.path.startswith(MFA_EXEMPT_PREFIXES):
            return self.get_response(request)
        if mfa_required(request.user) and not _has_mfa(request):
            if request.method == "GET" and not request.path.startswith("/api/"):
                request.session[MFA_NEXT_KEY] = request.get_full_path()
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": str(MFA_API_REFUSAL)}, status=403)
            messages.warning(
                request,
                _(
                    "Pour protéger les données de santé, activez l'authentification à deux "
                    "facteurs avant de continuer."
                ),
            )
            return redirect("mfa_index")
        if request.session.get(MFA_NEXT_KEY) == request.get_full_path():
            del request.session[MFA_NEXT_KEY]
        return self.get_response(request)


def _has_mfa(request: HttpRequest) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(request.user)
