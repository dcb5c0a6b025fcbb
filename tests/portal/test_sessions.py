"""Sessions end after inactivity and after a maximum length, both configurable."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from portal.middleware import SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db


def test_sessions_expire_after_thirty_minutes_of_inactivity_by_default() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_it_ends_a_session_older_than_the_maximum(client_for, patient, settings) -> None:
    settings.SESSION_MAX_AGE_S = 3600
    client: Client = client_for(patient)
    assert client.get("/").status_code == 200
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 3601
    session.save()

    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not client.get("/").context["user"].is_authenticated


def test_it_keeps_a_younger_session(client_for, patient, settings) -> None:
    settings.SESSION_MAX_AGE_S = 3600
    client: Client = client_for(patient)
    client.get("/")
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 3500
    session.save()
    assert client.get("/").status_code == 200
