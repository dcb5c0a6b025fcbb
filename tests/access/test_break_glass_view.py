"""Opening an emergency ("break-the-glass") access from the practitioner's pages: only for an
accredited practitioner with no right, never against the patient's opposition, confirmed by
re-authentication with a second factor, justified, time-limited, traced."""

from __future__ import annotations

import html as html_lib
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from access.models import BreakGlassAccess
from audit.models import AccessEvent, Action, Rule
from imaging.models import Patient
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.billing.helpers import mark_recently_authenticated
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Patiente inconsciente aux urgences après un accident, antécédents inconnus."
NAME = "Hélène DURAND"


def _url(patient: Patient) -> str:
    return reverse("access:break-glass", args=[patient.pk])


def _detail(patient: Patient) -> str:
    return reverse("access:patient-detail", args=[patient.pk])


def _html(response) -> str:
    return html_lib.unescape(response.content.decode())


def _form() -> dict[str, str]:
    return {"category": BreakGlassAccess.Category.UNCONSCIOUS, "justification": JUSTIFICATION}


@pytest.fixture
def confirmed(client_for, gp):
    """The city GP, signed in (with their authenticator, as the cast is) and having just
    confirmed their identity again."""
    client = client_for(gp)
    mark_recently_authenticated(client, gp)
    return client


NOT_ACCREDITED = ["regional_admin", "auditor", "director", "referent", "patient"]


# --- The form ----------------------------------------------------------------------------------


def test_the_form_warns_what_an_emergency_access_means(client_for, gp, record: Record) -> None:
    response = client_for(gp).get(_url(record.patient))
    html = _html(response)
    assert response.status_code == 200
    assert "Il dure 4 heures, puis se ferme de lui-même." in html
    assert "Il est tracé" in html
    assert "examiné par un auditeur" in html
    assert "Le patient en sera informé" in html
    assert "30 caractères au moins" in html
    for label in BreakGlassAccess.Category.labels:
        assert str(label) in html


@override_settings(BREAK_GLASS_DURATION_S=90 * 60, BREAK_GLASS_JUSTIFICATION_MIN_LENGTH=50)
def test_the_form_follows_the_settings(client_for, gp, record: Record) -> None:
    html = _html(client_for(gp).get(_url(record.patient)))
    assert "Il dure 1 h 30, puis se ferme de lui-même." in html
    assert "50 caractères au moins" in html


def test_the_form_does_not_describe_the_patient(client_for, gp, record: Record) -> None:
    Patient.objects.filter(pk=record.patient.pk).update(ins="295109912611193")
    html = _html(client_for(gp).get(_url(record.patient)))
    for secret in ("Hélène", "DURAND", "17/04/1962", "Féminin", "295109912611193"):
        assert secret not in html


def test_showing_the_form_is_traced_as_a_refused_read(client_for, gp, record: Record) -> None:
    client_for(gp).get(_url(record.patient))
    event = AccessEvent.objects.get(actor_id=gp.pk)
    assert (event.patient_id, event.action, event.granted, event.rule) == (
        record.patient.pk,
        Action.READ,
        False,
        Rule.NO_RIGHT,
    )


# --- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", NOT_ACCREDITED)
def test_it_is_refused_without_an_accreditation(request, client_for, who, record: Record) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)
    mark_recently_authenticated(client, user)
    assert client.get(_url(record.patient)).status_code == 403
    assert client.post(_url(record.patient), _form()).status_code == 403
    assert not BreakGlassAccess.objects.exists()


def test_it_is_refused_when_the_patient_opposes_sharing(
    confirmed, gp, record: Record, referent
) -> None:
    oppose(record.patient, by=referent)
    response = confirmed.get(_url(record.patient))
    assert response.status_code == 403
    assert "s'oppose au partage" in _html(response)
    assert "un accès d'urgence n'est pas possible" in _html(response)
    refused = confirmed.post(_url(record.patient), _form())
    assert refused.status_code == 403
    assert not BreakGlassAccess.objects.exists()


def test_a_practitioner_with_a_right_goes_to_the_patient(
    client_for, radiologist, record: Record
) -> None:
    response = client_for(radiologist).get(_url(record.patient))
    assert response["Location"] == _detail(record.patient)
    assert not BreakGlassAccess.objects.exists()


def test_a_grant_holder_goes_to_the_patient(client_for, gp, record: Record, referent) -> None:
    grant_to(gp, record.patient, by=referent)
    response = client_for(gp).post(_url(record.patient), _form())
    assert response["Location"] == _detail(record.patient)
    assert not BreakGlassAccess.objects.exists()


def test_an_emergency_access_already_open_is_not_opened_twice(
    confirmed, gp, record: Record
) -> None:
    break_glass(gp, record.patient)
    response = confirmed.post(_url(record.patient), _form(), follow=True)
    assert response.redirect_chain[0][0] == _detail(record.patient)
    assert "Un accès d'urgence à ce patient vous est déjà ouvert." in _html(response)
    assert BreakGlassAccess.objects.count() == 1


@pytest.fixture
def gp_without_mfa(db):
    user = UserFactory(email="dr.sans.mfa@cabinet.test")
    AccreditationFactory(practitioner=PractitionerFactory(user=user, specialty_code="SM54"))
    return user


@override_settings(PORTAL_MFA_ENFORCED=False)
def test_it_needs_an_authenticator_on_the_account(
    client_for, gp_without_mfa, record: Record
) -> None:
    client = client_for(gp_without_mfa)
    mark_recently_authenticated(client, gp_without_mfa)
    response = client.get(_url(record.patient))
    assert response.status_code == 403
    assert "Authentification à deux facteurs requise" in _html(response)
    assert f'href="{reverse("mfa_index")}"' in _html(response)
    assert client.post(_url(record.patient), _form()).status_code == 403
    assert not BreakGlassAccess.objects.exists()


@override_settings(PORTAL_MFA_ENFORCED=False, PORTAL_DEMO=True)
def test_the_demonstration_needs_no_authenticator(
    client_for, gp_without_mfa, record: Record
) -> None:
    client = client_for(gp_without_mfa)
    mark_recently_authenticated(client, gp_without_mfa)
    response = client.post(_url(record.patient), _form())
    assert response["Location"] == _detail(record.patient)
    assert BreakGlassAccess.objects.filter(user=gp_without_mfa).exists()


# --- Confirmation and opening ------------------------------------------------------------------


def test_sending_the_form_asks_to_confirm_identity_again(client_for, gp, record: Record) -> None:
    response = client_for(gp).post(_url(record.patient), _form())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not BreakGlassAccess.objects.exists()


def test_a_short_justification_is_refused_in_french(confirmed, gp, record: Record) -> None:
    response = confirmed.post(
        _url(record.patient), {"category": "life_threatening", "justification": "Urgence."}
    )
    assert response.status_code == 200
    assert "Décrivez l'urgence en 30 caractères au moins (8 saisis)." in _html(response)
    assert not BreakGlassAccess.objects.exists()


def test_a_missing_category_is_refused_in_french(confirmed, gp, record: Record) -> None:
    response = confirmed.post(_url(record.patient), {"justification": JUSTIFICATION})
    assert "Choisissez le type d'urgence." in _html(response)
    assert not BreakGlassAccess.objects.exists()


def test_it_opens_the_access_and_the_patient_page_shows_it_flagged(
    confirmed, gp, record: Record, auditor, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = confirmed.post(_url(record.patient), _form(), REMOTE_ADDR="203.0.113.9")
    assert response["Location"] == _detail(record.patient)
    access = BreakGlassAccess.objects.get()
    assert (access.user, access.practitioner, access.patient) == (
        gp,
        gp.practitioner,
        record.patient,
    )
    assert access.category == BreakGlassAccess.Category.UNCONSCIOUS
    assert access.justification == JUSTIFICATION
    assert access.source_ip == "203.0.113.9"
    assert access.review == BreakGlassAccess.Review.PENDING
    assert any(auditor.email in mail.to for mail in mailoutbox)

    page = confirmed.get(_detail(record.patient))
    html = _html(page)
    end = timezone.localtime(access.expires_at).strftime("%H:%M")
    assert f"Accès d'urgence ouvert jusqu'à {end}" in html  # the flash message
    assert NAME in html
    assert html.count(f"Accès d'urgence jusqu'à {end}") == 4  # banner, access, two studies
    flagged = AccessEvent.objects.filter(actor_id=gp.pk, rule=Rule.BREAK_GLASS)
    assert flagged.count() == 3  # the patient and the two studies
    assert set(flagged.values_list("break_glass_id", flat=True)) == {access.pk}


def test_the_totp_code_confirms_and_the_suspended_form_goes_through(db, client, record) -> None:
    """The real path: the form is sent, the portal asks for the authenticator code, and once
    it is typed the emergency access opens with what the form said."""
    user = UserFactory(email="dr.urgence@cabinet.test")
    secret = enrol_totp(user)
    AccreditationFactory(practitioner=PractitionerFactory(user=user, specialty_code="SM54"))
    client.force_login(user)
    asked = client.post(_url(record.patient), _form())
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    query = urlsplit(asked["Location"]).query
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post(f"{reverse('mfa_reauthenticate')}?{query}", {"code": code})
    assert response["Location"] == _detail(record.patient)
    access = BreakGlassAccess.objects.get()
    assert (access.user, access.justification) == (user, JUSTIFICATION)


def test_a_wrong_code_opens_nothing(db, client, record) -> None:
    user = UserFactory(email="dr.urgence@cabinet.test")
    enrol_totp(user)
    AccreditationFactory(practitioner=PractitionerFactory(user=user, specialty_code="SM54"))
    client.force_login(user)
    asked = client.post(_url(record.patient), _form())
    query = urlsplit(asked["Location"]).query
    response = client.post(f"{reverse('mfa_reauthenticate')}?{query}", {"code": "000000"})
    assert response.status_code == 200
    assert not BreakGlassAccess.objects.exists()
