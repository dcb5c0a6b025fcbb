"""Home panels and navigation of the practitioners app, each with the role that must not see it."""

from __future__ import annotations

import pytest

from practitioners.services import accreditation_request_ask_info, accreditation_request_submit
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_user_without_role_is_invited_to_request(client_for, applicant) -> None:
    page = _home(client_for(applicant))
    assert "Professionnel de santé ?" in page
    assert 'href="/habilitation/demande/"' in page


def test_the_pending_request_shows_on_the_home_page(
    client_for, applicant, referent, request_data
) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    client = client_for(applicant)
    assert "En attente d&#x27;examen" in _home(client)
    accreditation_request_ask_info(request=created, reviewer=referent, message="Service ?")
    page = _home(client)
    assert "Répondre à la demande de complément" in page
    assert f"/habilitation/demandes/{created.pk}/repondre/" in page


def test_an_expired_practitioner_sees_it_and_may_request_again(client_for) -> None:
    user = UserFactory()
    enrol_totp(user)
    AccreditationFactory(practitioner=PractitionerFactory(user=user), status="expired")
    page = _home(client_for(user))
    assert "n'est plus en vigueur (expirée" in page
    assert 'href="/habilitation/demande/"' in page


def test_the_practitioner_panel_shows_the_end_date_and_sites(
    client_for, care_team_practitioner
) -> None:
    page = _home(client_for(care_team_practitioner))
    assert "Mon habilitation" in page
    assert "active jusqu" in page
    assert "CHR Metz-Thionville" in page
    assert "Professionnel de santé ?" not in page
    assert 'href="/annuaire/"' in page  # navigation
    assert 'href="/mon-habilitation/"' in page


def test_referents_see_the_requests_to_review(client_for, referent, applicant, request_data):
    accreditation_request_submit(user=applicant, data=request_data())
    page = _home(client_for(referent))
    assert "Examiner les demandes d'habilitation" in page
    assert 'href="/habilitation/demandes/"' in page
    assert 'href="/annuaire/"' in page
    assert "Professionnel de santé ?" not in page


def test_directors_get_no_practitioner_entries(client_for, director) -> None:
    page = _home(client_for(director))
    assert 'href="/habilitation/demandes/"' not in page
    assert 'href="/annuaire/"' not in page
    assert "Professionnel de santé ?" not in page


def test_regional_admins_see_the_count_to_review(
    client_for, regional_admin, applicant, request_data
):
    accreditation_request_submit(user=applicant, data=request_data())
    page = _home(client_for(regional_admin))
    assert "demandes d'habilitation à examiner" in page
