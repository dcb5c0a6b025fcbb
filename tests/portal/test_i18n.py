"""French by default, English on request, remembered on the account."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_portal_speaks_french_by_default(client: Client) -> None:
    page = client.get("/").content.decode()
    assert '<html lang="fr">' in page
    assert "Aller au contenu principal" in page


def test_an_english_browser_still_gets_french_until_asked(client: Client) -> None:
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="fr">' in page


def test_the_sign_in_message_speaks_the_portal_language(client: Client, patient) -> None:
    from tests.factories import PASSWORD

    response = client.post(
        "/accounts/login/",
        {"login": "helene@patient.test", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en-US",
        follow=True,
    )
    assert "Connexion avec" in response.content.decode()


def test_the_language_switch_turns_the_portal_to_english(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert "Skip to main content" in page


def test_the_choice_is_remembered_on_the_account(client_for, patient) -> None:
    client = client_for(patient)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    patient.refresh_from_db()
    assert patient.preferred_language == "en"

    fresh = Client()
    fresh.force_login(patient)
    assert '<html lang="en">' in fresh.get("/").content.decode()


def test_the_layout_is_accessible(client: Client) -> None:
    page = client.get("/").content.decode()
    assert 'href="#contenu"' in page  # skip link
    assert '<main id="contenu"' in page
    assert "<header" in page
    assert "<footer" in page
    assert page.count("<h1") == 1
    assert '<label for="language-select">' in page
