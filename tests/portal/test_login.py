"""Signing in by e-mail, and the rate limit on failed attempts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_it_signs_in_with_email_and_password(client: Client, patient) -> None:
    response = client.post(LOGIN, {"login": "helene@patient.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get("/").context["user"] == patient


def test_it_matches_the_email_whatever_its_case(client: Client, patient) -> None:
    response = client.post(LOGIN, {"login": "Helene@Patient.TEST", "password": PASSWORD})
    assert response.status_code == 302


def test_it_refuses_a_wrong_password_in_french(client: Client, patient) -> None:
    response = client.post(LOGIN, {"login": "helene@patient.test", "password": "pas-le-bon"})
    assert response.status_code == 200
    assert "ou le mot de passe sont incorrects" in response.content.decode()
    assert not client.get("/").context["user"].is_authenticated


def test_it_refuses_an_unverified_email(client: Client, db) -> None:
    from portal.services import user_create

    user_create(email="nouveau@exemple.test", password=PASSWORD, email_verified=False)
    response = client.post(LOGIN, {"login": "nouveau@exemple.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not client.get("/").context["user"].is_authenticated


def test_it_locks_an_account_after_five_failures_even_with_the_right_password(
    client: Client, patient
) -> None:
    for _ in range(5):
        client.post(LOGIN, {"login": "helene@patient.test", "password": "pas-le-bon"})
    response = client.post(LOGIN, {"login": "helene@patient.test", "password": PASSWORD})
    assert response.status_code == 200
    assert "Trop de tentatives" in response.content.decode()
    assert not client.get("/").context["user"].is_authenticated


def test_it_does_not_lock_another_account_when_one_is_attacked(
    client: Client, patient, regional_admin
) -> None:
    for _ in range(5):
        client.post(LOGIN, {"login": "helene@patient.test", "password": "pas-le-bon"})
    response = client.post(LOGIN, {"login": "alice.admin@ars.test", "password": PASSWORD})
    assert response.status_code == 302


def test_sign_up_sends_a_verification_email(client: Client, db, mailoutbox) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "email": "directrice@hopital.test",
            "password1": "une-phrase-de-passe-solide",
            "password2": "une-phrase-de-passe-solide",
        },
    )
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["directrice@hopital.test"]
    assert mailoutbox[0].subject.startswith("[Portail imagerie]")
