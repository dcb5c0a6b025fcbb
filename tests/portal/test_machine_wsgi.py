"""The WSGI application of gunicorn and ``runserver`` (``portal.wsgi``): the archives' callback
on its own handler (``portal.machine_wsgi``), every other path on the portal's."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import translation

from portal.wsgi import application

pytestmark = pytest.mark.django_db


def _call(
    method: str, path: str, body: bytes = b"", *, host: str = "127.0.0.1", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = {name.lower(): value for name, value in response_headers}

    # As Django's test client: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], content


def test_the_callback_answers_without_the_browsers_middleware() -> None:
    status, headers, content = _call("POST", "/orthanc-auth/tokens/validate", b"{}")
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")
    assert "authentification HTTP Basic" in json.loads(content)["error"]
    # No session, no cookie, no language negotiation: nothing a browser would need.
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()
    assert headers["content-language"] == "fr"
    assert headers["x-frame-options"] == "DENY"


def test_the_callback_speaks_french_whatever_the_threads_last_language() -> None:
    # A thread that served an English page last: the callback still speaks French.
    translation.activate("en")
    status, _headers, content = _call(
        "POST",
        "/orthanc-auth/tokens/validate",
        b"not json",
        authorization="Basic bm9ib2R5Om5vdGhpbmc=",
    )
    assert status == 401  # unknown archive: its body is not even read
    assert "Identifiants de l'archive" in json.loads(content)["error"]


def test_the_callback_refuses_an_unknown_host_in_json() -> None:
    status, headers, content = _call(
        "POST", "/orthanc-auth/tokens/validate", b"{}", host="archive.evil.example"
    )
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(content) == {"error": "Requête invalide."}


def test_an_unknown_callback_address_is_a_json_404() -> None:
    status, headers, content = _call("POST", "/orthanc-auth/tokens/forge", b"{}")
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert "service d'autorisation" in json.loads(content)["error"]


def test_the_portals_pages_keep_the_portals_handler() -> None:
    status, headers, _content = _call("GET", "/accounts/login/", accept="text/html")
    assert status == 200
    assert "text/html" in headers["content-type"]
    assert "csrftoken=" in headers.get("set-cookie", "")  # the browsers' middleware ran
    # The portal's own URLconf still answers a path that merely starts alike.
    status, _headers, _content = _call("GET", "/orthanc-authentification/")
    assert status == 404
