"""Pages of the portal itself: home, language switch, health."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from portal.home import panels_for


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous visitors read what the network is; signed-in users get their role's panels."""
    if not request.user.is_authenticated:
        return render(request, "portal/welcome.html")
    return render(request, "portal/home.html", {"panels": panels_for(request)})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the account for the next sign-in."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if (
        request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and request.user.preferred_language != language
    ):
        request.user.preferred_language = language
        request.user.save(update_fields=["preferred_language"])
    return response
