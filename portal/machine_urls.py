"""The URLconf of ``portal.machine_wsgi``: the archives' authorization web service alone, at
the same address as in the portal's URLconf, and errors answered in JSON (an archive reads
no HTML page, and the portal's pages expect the browsers' middleware)."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils.translation import gettext as _

urlpatterns = [
    path("orthanc-auth/", include("access.orthanc_auth_urls")),
]


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"error": _("Requête invalide.")}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"error": _("Accès refusé.")}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"error": _("Adresse inconnue du service d'autorisation.")}, status=404)


def server_error(request: HttpRequest, *args: Any) -> JsonResponse:
    return JsonResponse({"error": _("Erreur interne du portail.")}, status=500)


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error
