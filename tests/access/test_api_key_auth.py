"""API keys on a real endpoint, ``POST /api/v1/viewer-tokens/``: a key acts as its user (roles
and access decisions unchanged, no CSRF token), and every other key is refused alike."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import BreakGlassAccess
from access.token_models import ViewerToken
from audit.models import AccessEvent, Channel, Rule
from portal.api_keys import LAST_USED_PRECISION_S, api_key_create, api_key_revoke
from portal.models import ApiKey
from tests.access.conftest import grant_to

pytestmark = pytest.mark.django_db

MINT = "/api/v1/viewer-tokens/"
CHALLENGE = 'Api-Key realm="api"'


def _key(user: Any, name: str = "Script de test") -> str:
    return api_key_create(user=user, name=name).key


def _mint(key: str | None = None, *, header: str | None = None, **body: Any) -> Any:
    extra = {}
    if header is not None or key is not None:
        extra["HTTP_AUTHORIZATION"] = header if header is not None else f"Api-Key {key}"
    return APIClient().post(MINT, body, format="json", REMOTE_ADDR="10.4.5.6", **extra)


def test_a_key_mints_a_token_for_a_study_its_user_may_see(gp, radiologist, record) -> None:
    grant_to(gp, record.patient, by=radiologist)
    key = _key(gp)

    response = _mint(key, study_instance_uid=record.hospital_study.study_instance_uid)

    assert response.status_code == 201, response.content
    token = ViewerToken.objects.get(pk=response.json()["id"])
    assert (token.user_id, token.study_id) == (gp.pk, record.hospital_study.pk)
    [event] = AccessEvent.objects.filter(channel=Channel.API)
    assert (event.actor_id, event.granted, event.rule) == (gp.pk, True, Rule.GRANT)


def test_a_key_mints_a_token_without_a_study(gp) -> None:
    response = _mint(_key(gp))

    assert response.status_code == 201, response.content
    token = ViewerToken.objects.get()
    assert (token.user_id, token.study_id) == (gp.pk, None)


def test_a_key_gets_404_for_a_study_its_user_may_not_see(gp, record) -> None:
    response = _mint(_key(gp), study_instance_uid=record.hospital_study.study_instance_uid)

    assert response.status_code == 404
    assert not ViewerToken.objects.exists()
    [event] = AccessEvent.objects.filter(channel=Channel.API)
    assert (event.actor_id, event.granted, event.rule) == (gp.pk, False, Rule.NO_RIGHT)


def test_a_key_of_a_user_without_the_role_gets_403(regional_admin) -> None:
    response = _mint(_key(regional_admin))

    assert response.status_code == 403
    assert not ViewerToken.objects.exists()


def test_a_call_without_any_credentials_keeps_its_403(gp) -> None:
    response = _mint()

    assert response.status_code == 403
    assert not ViewerToken.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key ",
        "Api-Key pik_0011 2233",
        "Api-Key not-a-key-of-ours",
        "api-key pik_deadbeef_" + "x" * 43,
        "Api-Key pik_" + "a" * 200,
    ],
)
def test_a_malformed_or_unknown_key_gets_401_with_the_challenge(gp, header) -> None:
    response = _mint(header=header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert "Clé d'API refusée" in response.json()["detail"]
    assert not ViewerToken.objects.exists()


def _revoked(user: Any) -> str:
    created = api_key_create(user=user, name="Révoquée")
    api_key_revoke(key=created.record, by=user)
    return created.key


def _expired(user: Any) -> str:
    created = api_key_create(user=user, name="Expirée", lifetime_days=1)
    ApiKey.objects.filter(pk=created.record.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2),
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    return created.key


def _of_a_deactivated_user(user: Any) -> str:
    key = _key(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    return key


@pytest.mark.parametrize("spoil", [_revoked, _expired, _of_a_deactivated_user])
def test_revoked_expired_and_deactivated_keys_get_the_unknown_keys_401(gp, spoil) -> None:
    unknown = _mint(header="Api-Key pik_00000000_" + "x" * 43)

    response = _mint(spoil(gp))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json() == unknown.json()
    assert not ViewerToken.objects.exists()


def test_a_revoked_key_stops_working_at_once(gp) -> None:
    created = api_key_create(user=gp, name="Script")
    assert _mint(created.key).status_code == 201

    api_key_revoke(key=created.record, by=gp)

    assert _mint(created.key).status_code == 401


def test_a_key_whose_user_dropped_their_second_factor_gets_the_sessions_403(gp) -> None:
    key = _key(gp)
    Authenticator.objects.filter(user=gp).delete()

    response = _mint(key)

    assert response.status_code == 403
    assert "authentification à deux facteurs" in response.json()["detail"]
    assert not ViewerToken.objects.exists()


def test_a_key_needs_no_csrf_token_but_a_session_still_does(client_for, gp) -> None:
    key = _key(gp)
    strict = Client(enforce_csrf_checks=True)

    by_key = strict.post(
        MINT, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )
    strict.force_login(gp)
    by_session = strict.post(MINT, {}, content_type="application/json")

    assert by_key.status_code == 201, by_key.content
    assert by_session.status_code == 403
    assert "CSRF" in by_session.json()["detail"]
    assert ViewerToken.objects.count() == 1


def test_a_key_cannot_open_an_emergency_access_without_a_confirmed_identity(gp, record) -> None:
    response = APIClient().post(
        "/api/v1/break-glass/",
        {
            "patient": record.patient.pk,
            "category": "life_threatening",
            "justification": "Patient inconscient aux urgences, bilan d'un traumatisme grave.",
        },
        format="json",
        HTTP_AUTHORIZATION=f"Api-Key {_key(gp)}",
    )

    assert response.status_code == 403
    assert response.json()["reauthenticate_url"] == reverse("account_reauthenticate")
    assert not BreakGlassAccess.objects.exists()


def test_the_last_use_is_remembered_at_most_once_a_minute(gp) -> None:
    created = api_key_create(user=gp, name="Script")
    record = created.record
    assert record.last_used_at is None

    _mint(created.key)
    record.refresh_from_db()
    first = record.last_used_at
    assert first is not None
    assert record.last_used_ip == "10.4.5.6"

    _mint(created.key)
    record.refresh_from_db()
    assert record.last_used_at == first

    long_ago = timezone.now() - datetime.timedelta(seconds=LAST_USED_PRECISION_S + 1)
    ApiKey.objects.filter(pk=record.pk).update(last_used_at=long_ago)
    _mint(created.key)
    record.refresh_from_db()
    assert record.last_used_at is not None
    assert record.last_used_at > long_ago


def _mint_from(address: str, header: str) -> Any:
    return APIClient().post(MINT, {}, format="json", REMOTE_ADDR=address, HTTP_AUTHORIZATION=header)


def test_an_address_that_presents_too_many_refused_keys_is_held_even_with_a_good_one(
    gp, settings
) -> None:
    settings.API_KEY_FAILURES_PER_IP = 3
    settings.API_KEY_FAILURES_WINDOW_S = 600
    good = f"Api-Key {_key(gp)}"
    for _ in range(3):
        assert _mint_from("10.9.9.9", "Api-Key pik_devine").status_code == 401

    held = _mint_from("10.9.9.9", good)

    assert held.status_code == 429
    assert held["Retry-After"] == "600"
    assert "Trop de clés d'API refusées depuis cette adresse" in held.json()["detail"]
    assert "10 minutes" in held.json()["detail"]
    assert not ViewerToken.objects.exists()
    # Another address, and the same key, still work.
    assert _mint_from("10.9.9.10", good).status_code == 201


def test_good_keys_do_not_count_towards_the_hold(gp, settings) -> None:
    settings.API_KEY_FAILURES_PER_IP = 2
    good = f"Api-Key {_key(gp)}"
    assert _mint_from("10.9.9.9", "Api-Key pik_devine").status_code == 401
    for _ in range(3):
        assert _mint_from("10.9.9.9", good).status_code == 201

    assert _mint_from("10.9.9.9", "Api-Key pik_encore").status_code == 401
    assert _mint_from("10.9.9.9", good).status_code == 429


def test_the_hold_ends_with_its_window(gp, settings) -> None:
    settings.API_KEY_FAILURES_PER_IP = 1
    settings.API_KEY_FAILURES_WINDOW_S = 1
    good = f"Api-Key {_key(gp)}"
    assert _mint_from("10.9.9.9", "Api-Key pik_devine").status_code == 401
    assert _mint_from("10.9.9.9", good).status_code == 429

    time.sleep(1.2)

    assert _mint_from("10.9.9.9", good).status_code == 201


def test_a_key_is_answered_in_its_users_language(gp, record) -> None:
    gp.preferred_language = "en"
    gp.save(update_fields=["preferred_language"])

    response = _mint(_key(gp), study_instance_uid=record.hospital_study.study_instance_uid)

    assert response.status_code == 404
    assert response.json()["detail"] == "Study not found."
    assert response["Content-Language"] == "en"


def test_a_french_speaking_users_key_is_answered_in_french(gp, record) -> None:
    response = _mint(_key(gp), study_instance_uid=record.hospital_study.study_instance_uid)

    assert response.json()["detail"] == "Examen introuvable."
    assert response["Content-Language"] == "fr"
