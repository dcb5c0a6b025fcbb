"""The archives' authorization callback on a Django handler of its own.

An archive asks ``/orthanc-auth/`` before it serves each image: no browser, no cookie, no
session, no form. The browsers' middleware (sessions, CSRF, authentication, messages, allauth,
htmx, MFA enrolment, static files) would only cost time there: this handler serves those
requests with Django's own machinery (the same request and response objects, signals,
database connection handling, error pages and logging) behind the middleware that still
means something for a machine (HTTPS rules and host validation) and a URLconf holding the
web service alone. Every other path goes to the portal's usual handler. ``portal.wsgi`` picks
one or the other by the path's prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import set_urlconf
from django.utils import translation
from django.utils.module_loading import import_string

PREFIX = "/orthanc-auth/"
# The callback's URLconf; the load benchmark adds its floor to it (``CALLBACK_URLCONF``).
URLCONF = "portal.machine_urls"
MIDDLEWARE = (
    "portal.machine_wsgi.CallbackDefaultsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Host validation (ALLOWED_HOSTS) and the APPEND_SLASH rule, as for the portal.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class CallbackDefaultsMiddleware:
    """The callback's URLconf, its errors included (JSON, even for a refused host), and the
    portal's language (French): threads are shared with the browsers' handler, whose last
    request may have switched them to another language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        urlconf = getattr(settings, "CALLBACK_URLCONF", URLCONF)
        set_urlconf(urlconf)  # reset by Django when the request finishes
        request.urlconf = urlconf
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
        return response


class MachineHandler(WSGIHandler):
    """Django's WSGI handler with ``MIDDLEWARE`` above instead of ``settings.MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        if is_async:
            raise NotImplementedError("The archives' callback is served over WSGI.")
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(MIDDLEWARE):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def dispatching(portal: WsgiApp, machine: WsgiApp) -> WsgiApp:
    """The WSGI application that sends the archives' callback to ``machine``, the rest to
    ``portal``."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return machine(environ, start_response)
        return portal(environ, start_response)

    return application
