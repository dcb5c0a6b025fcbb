"""Staff and practitioners enrol a second factor before anything else; patients may."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client, override_settings
from django.urls import reverse

from portal.roles import Role
from portal.services import user_grant_group_role
from tests.factories import PASSWORD, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_without_mfa(db):
    user = UserFactory(email="nouvel.admin@ars.test")
    user_grant_group_role(user=user, role=Role.REGIONAL_ADMIN)
    return user


def test_it_sends_staff_without_mfa_to_enrol(client_for, admin_without_mfa) -> None:
    response = client_for(admin_without_mfa).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


def test_it_sends_a_user_with_no_role_yet_to_enrol(client_for, db) -> None:
    response = client_for(UserFactory()).get("/")
    assert response["Location"] == reverse("mfa_index")


def test_it_lets_staff_reach_the_enrolment_pages(client_for, admin_without_mfa) -> None:
    client = client_for(admin_without_mfa)
    assert client.get(reverse("mfa_index")).status_code == 200
    # Activating asks to confirm the password first (allauth), never loops back to enrolment.
    activate = client.get(reverse("mfa_activate_totp"))
    assert activate["Location"].startswith(reverse("account_reauthenticate"))
    assert client.get(activate["Location"]).status_code == 200


def test_it_refuses_the_api_to_staff_without_mfa(client_for, admin_without_mfa) -> None:
    response = client_for(admin_without_mfa).get("/api/schema/")
    assert response.status_code == 403
    assert "deux facteurs" in response.json()["detail"]


def test_it_lets_staff_with_mfa_in(client_for, regional_admin) -> None:
    assert client_for(regional_admin).get("/").status_code == 200


def test_it_does_not_force_patients_to_enrol(client_for, patient) -> None:
    assert client_for(patient).get("/").status_code == 200


@override_settings(PORTAL_DEMO=True)
def test_demo_mode_does_not_enforce_mfa(client_for, admin_without_mfa) -> None:
    response = client_for(admin_without_mfa).get("/")
    assert response.status_code == 200
    assert "Démonstration" in response.content.decode()


def test_signing_in_with_mfa_asks_for_the_code(client: Client, db) -> None:
    user = UserFactory(email="referente@chr.test")
    user_grant_group_role(user=user, role=Role.AUDITOR)
    secret = enrol_totp(user)

    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert not client.get("/").context["user"].is_authenticated

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_once_enrolled_the_user_is_offered_the_page_they_wanted(client_for, db) -> None:
    user = UserFactory()
    client = client_for(user)
    wanted = "/invitations/un-jeton/?source=mail"
    assert client.get(wanted)["Location"] == reverse("mfa_index")

    before = client.get(reverse("mfa_index")).content.decode()
    assert "Continuer vers la page demandée" not in before  # not enrolled yet
    enrol_totp(user)
    after = client.get(reverse("mfa_index")).content.decode()
    assert f'href="{wanted}"' in after

    client.get(wanted)
    assert (
        "Continuer vers la page demandée" not in client.get(reverse("mfa_index")).content.decode()
    )
