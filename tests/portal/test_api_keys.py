"""The account's API keys page: create a key (shown once, only its hash kept), list one's own,
revoke one's own (someone else's answers 404), the limits and refusals in French; the
technical admin's revocation; the scheme in the OpenAPI schema."""

from __future__ import annotations

import datetime
import hashlib
import json
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.api_keys import api_key_create
from portal.models import ApiKey
from tests.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

PAGE = reverse("api-keys")
KEY = re.compile(r"pik_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def _create(client: Client, name: str = "Import nocturne", lifetime_days: object = 30):
    return client.post(PAGE, {"name": name, "lifetime_days": lifetime_days})


def _revoke(client: Client, key: ApiKey):
    return client.post(reverse("api-key-revoke", args=[key.pk]))


def _works(key: str) -> bool:
    """Whether the API takes ``key``: a GET on the POST-only viewer tokens answers 405 once
    authenticated, 401 when the key is refused."""
    response = APIClient().get("/api/v1/viewer-tokens/", HTTP_AUTHORIZATION=f"Api-Key {key}")
    return response.status_code != 401


def test_it_shows_the_new_key_once_and_keeps_only_its_hash(client_for, practitioner) -> None:
    client = client_for(practitioner)
    before = timezone.now()

    response = _create(client, lifetime_days=30)

    assert response.status_code == 200
    page = response.content.decode()
    [key] = KEY.findall(page)
    assert "elle ne sera plus jamais affichée" in page
    assert "no-store" in response["Cache-Control"]
    stored = ApiKey.objects.get()
    assert (stored.user_id, stored.name) == (practitioner.pk, "Import nocturne")
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert stored.prefix == key[:12]
    assert key not in json.dumps(list(ApiKey.objects.values()), default=str)
    expected_end = before + datetime.timedelta(days=30)
    assert expected_end <= stored.expires_at <= timezone.now() + datetime.timedelta(days=30)
    assert _works(key)

    again = client.get(PAGE).content.decode()
    assert key not in again
    assert f"{stored.prefix}…" in again
    assert "Import nocturne" in again


def test_the_owner_is_told_of_each_creation_by_e_mail_without_the_key(
    client_for, practitioner, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(client_for(practitioner))

    [key] = KEY.findall(response.content.decode())
    [message] = mailoutbox
    assert message.to == [practitioner.email]
    assert "Une clé d'API a été créée sur votre compte" in message.subject
    assert "« Import nocturne »" in message.body
    assert f"({key[:12]}…)" in message.body
    assert "révoquez cette clé sans attendre" in message.body
    assert "/compte/cles-api/" in message.body
    assert key not in message.body
    assert key[12:] not in message.body


def test_the_creation_e_mail_speaks_the_owners_language(
    client_for, practitioner, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    practitioner.preferred_language = "en"
    practitioner.save(update_fields=["preferred_language"])

    with django_capture_on_commit_callbacks(execute=True):
        _create(client_for(practitioner))

    [message] = mailoutbox
    assert "An API key was created on your account" in message.subject
    assert "revoke this key at once" in message.body


def test_a_refused_creation_sends_nothing(
    client_for, practitioner, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(client_for(practitioner), name="  ")

    assert response.status_code == 400
    assert not ApiKey.objects.exists()
    assert mailoutbox == []


def test_it_lists_only_ones_own_keys(client_for, practitioner, regional_admin) -> None:
    api_key_create(user=practitioner, name="Clé du praticien")
    api_key_create(user=regional_admin, name="Clé de l'administratrice")

    page = client_for(practitioner).get(PAGE).content.decode()

    assert "Clé du praticien" in page
    assert "Clé de l&#x27;administratrice" not in page
    assert "Clé de l'administratrice" not in page


def test_the_list_costs_the_same_queries_for_many_keys(
    client_for, practitioner, django_assert_num_queries
) -> None:
    client = client_for(practitioner)
    api_key_create(user=practitioner, name="Première")
    client.get(PAGE)  # the session's first request writes what later ones only read
    with CaptureQueriesContext(connection) as one:
        client.get(PAGE)
    for number in range(5):
        api_key_create(user=practitioner, name=f"Clé {number}")

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(PAGE)

    assert response.content.decode().count("Révoquer la clé") == 6


def test_the_owner_revokes_a_key_and_it_stops_working(client_for, practitioner) -> None:
    created = api_key_create(user=practitioner, name="À révoquer")
    client = client_for(practitioner)

    response = _revoke(client, created.record)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    created.record.refresh_from_db()
    assert created.record.revoked_at is not None
    assert created.record.revoked_by_id == practitioner.pk
    assert not _works(created.key)
    page = client.get(PAGE).content.decode()
    assert "La clé « À révoquer » est révoquée" in page
    assert "Révoquée le" in page
    assert "Révoquer la clé « À révoquer »" not in page


def test_revoking_someone_elses_key_answers_404(client_for, practitioner, outsider) -> None:
    created = api_key_create(user=outsider, name="Clé d'un autre")

    response = _revoke(client_for(practitioner), created.record)

    assert response.status_code == 404
    created.record.refresh_from_db()
    assert created.record.revoked_at is None
    assert _works(created.key)


def test_revoking_asks_for_a_post(client_for, practitioner) -> None:
    created = api_key_create(user=practitioner, name="Script")

    response = client_for(practitioner).get(reverse("api-key-revoke", args=[created.record.pk]))

    assert response.status_code == 405
    assert _works(created.key)


def test_revoking_needs_the_csrf_token(practitioner) -> None:
    created = api_key_create(user=practitioner, name="Script")
    client = Client(enforce_csrf_checks=True)
    client.force_login(practitioner)

    response = _revoke(client, created.record)

    assert response.status_code == 403
    assert _works(created.key)


def test_it_refuses_a_key_beyond_the_limit_in_french(client_for, practitioner, settings) -> None:
    settings.API_KEY_MAX_PER_USER = 2
    client = client_for(practitioner)
    _create(client, name="Une")
    _create(client, name="Deux")

    refused = _create(client, name="Trois")

    assert refused.status_code == 400
    assert "Vous avez déjà 2 clés d&#x27;API actives, le maximum" in refused.content.decode()
    assert ApiKey.objects.count() == 2
    _revoke(client, ApiKey.objects.get(name="Une"))
    assert _create(client, name="Trois").status_code == 200
    assert ApiKey.objects.usable().count() == 2


def test_an_expired_key_does_not_count_towards_the_limit(
    client_for, practitioner, settings
) -> None:
    settings.API_KEY_MAX_PER_USER = 1
    old = api_key_create(user=practitioner, name="Ancienne").record
    ApiKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=40),
        expires_at=timezone.now() - datetime.timedelta(days=1),
    )

    response = _create(client_for(practitioner), name="Ancienne")

    assert response.status_code == 200
    assert "Expirée" in response.content.decode()
    assert ApiKey.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "lifetime_days", "message"),
    [
        ("", 30, "Donnez un nom à la clé"),
        ("   ", 30, "Donnez un nom à la clé"),
        ("x" * 101, 30, "Le nom d&#x27;une clé tient en 100 caractères au plus."),
        ("Script", 0, "Une clé dure au moins un jour."),
        ("Script", 366, "Une clé dure au plus 365 jours."),
        ("Script", "un an", "Indiquez un nombre entier de jours."),
        ("Script", "", "Indiquez la durée de validité de la clé, en jours."),
    ],
)
def test_it_refuses_bad_input_in_french(
    client_for, practitioner, name, lifetime_days, message
) -> None:
    response = _create(client_for(practitioner), name=name, lifetime_days=lifetime_days)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_longest_lifetime_follows_the_setting(client_for, practitioner, settings) -> None:
    settings.API_KEY_MAX_DAYS = 30
    client = client_for(practitioner)

    assert "Une clé dure au plus 30 jours." in _create(client, lifetime_days=31).content.decode()
    assert _create(client, lifetime_days=30).status_code == 200


def test_a_name_is_unique_among_ones_active_keys(client_for, practitioner, outsider) -> None:
    api_key_create(user=outsider, name="Import")  # someone else's: no clash
    client = client_for(practitioner)
    _create(client, name="Import")

    clash = _create(client, name="  import ")

    assert clash.status_code == 400
    assert "Vous avez déjà une clé active de ce nom" in clash.content.decode()
    _revoke(client, ApiKey.objects.get(user=practitioner))
    assert _create(client, name="Import").status_code == 200


def test_a_patient_is_not_offered_keys(client_for, patient) -> None:
    client = client_for(patient)

    assert client.get(PAGE).status_code == 403
    assert _create(client).status_code == 403
    assert not ApiKey.objects.exists()
    assert PAGE not in client.get("/").content.decode()


def test_staff_find_the_page_in_their_account_menu(client_for, practitioner) -> None:
    page = client_for(practitioner).get("/").content.decode()

    assert f'href="{PAGE}"' in page
    assert "Clés d'API" in page


def test_without_a_second_factor_the_page_sends_to_enrol(client_for, settings) -> None:
    # Where MFA is not enforced, an account may still lack it: no key without one.
    settings.PORTAL_MFA_ENFORCED = False
    user = UserFactory()
    client = client_for(user)

    page = client.get(PAGE).content.decode()
    refused = _create(client)

    assert "protégez d'abord votre compte par un second facteur" in page
    assert 'name="lifetime_days"' not in page
    assert refused.status_code == 403
    assert not ApiKey.objects.exists()
    enrol_totp(user)
    assert _create(client).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_technical_admin_revokes_a_users_key_without_seeing_its_hash(
    client_for, practitioner
) -> None:
    root = UserFactory(email="root@gcs.test")
    root.is_staff = root.is_superuser = True
    root.save(update_fields=["is_staff", "is_superuser"])
    enrol_totp(root)
    created = api_key_create(user=practitioner, name="Script du service")
    client = client_for(root)

    detail = client.get(f"/admin/portal/apikey/{created.record.pk}/change/").content.decode()
    response = client.post(
        "/admin/portal/apikey/",
        {"action": "revoke", "_selected_action": [created.record.pk]},
    )

    assert created.record.prefix in detail
    assert created.record.key_hash not in detail
    assert response.status_code == 302
    created.record.refresh_from_db()
    assert created.record.revoked_by_id == root.pk
    assert not _works(created.key)


def test_the_schema_documents_the_scheme(client_for, regional_admin) -> None:
    schema = client_for(regional_admin).get("/api/schema/", {"format": "json"}).json()

    scheme = schema["components"]["securitySchemes"]["apiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert {"apiKeyAuth": []} in schema["paths"]["/api/v1/viewer-tokens/"]["post"]["security"]


def test_a_user_without_a_second_factor_cannot_create_by_the_service(db) -> None:
    user = UserFactory()

    with pytest.raises(PermissionDenied) as refused:
        api_key_create(user=user, name="Script")

    assert "deux facteurs" in str(refused.value)
    assert not ApiKey.objects.exists()


def test_the_page_speaks_english_to_whoever_asks(client_for, practitioner) -> None:
    practitioner.preferred_language = "en"
    practitioner.save(update_fields=["preferred_language"])

    page = _create(client_for(practitioner)).content.decode()

    assert "Copy it now: it will never be shown again." in page
    assert "Your keys" in page
