"""The practitioner directory: accredited practitioners and their phones, for practitioners,
referents and regional administrators only."""

from __future__ import annotations

import pytest

from practitioners.models import Accreditation, PracticeSite
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory
from tests.practitioners.conftest import active_site
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

URL = "/annuaire/"


@pytest.fixture
def listed(care_team_practitioner, other_hospital):
    """The radiologist at ``hospital`` (phones from the telephony directory) and a GP in town."""
    site = active_site(care_team_practitioner)
    site.phone, site.mobile, site.department = "03 87 55 31 00", "06 12 34 56 78", "Radiologie"
    site.save()
    gp = PractitionerFactory(
        user=UserFactory(first_name="Anne", last_name="Généraliste"), specialty_code="SM54"
    )
    AccreditationFactory(practitioner=gp)
    PracticeSiteFactory(
        practitioner=gp, establishment=None, practice_name="Cabinet Stanislas", city="Nancy"
    )
    return care_team_practitioner, gp


@pytest.mark.parametrize("who", ["care_team_practitioner", "referent", "regional_admin"])
def test_it_lists_accredited_practitioners_with_their_phones(request, client_for, listed, who):
    page = client_for(request.getfixturevalue(who)).get(URL).content.decode()
    assert "Radiologue Charlie" in page
    assert "03 87 55 31 00" in page
    assert "06 12 34 56 78" in page
    assert "Radiologie" in page
    assert "Généraliste Anne" in page
    assert "Cabinet Stanislas (Nancy)" in page


@pytest.mark.parametrize("who", ["director", "auditor", "patient", "applicant"])
def test_other_roles_are_refused(request, client_for, listed, who) -> None:
    assert client_for(request.getfixturevalue(who)).get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    assert client.get(URL).status_code == 302


def test_an_expired_accreditation_loses_the_directory(client_for, listed) -> None:
    radiologist, _gp = listed
    Accreditation.objects.filter(practitioner__user=radiologist).update(status="expired")
    assert client_for(radiologist).get(URL).status_code == 403


def test_it_searches_by_name_specialty_and_establishment(
    client_for, regional_admin, listed, hospital
) -> None:
    client = client_for(regional_admin)

    def names(query: str) -> tuple[bool, bool]:
        page = client.get(URL + query).content.decode()
        return "Radiologue Charlie" in page, "Généraliste Anne" in page

    assert names("?q=radio") == (True, False)
    assert names("?q=anne+généraliste") == (False, True)
    assert names("?specialty=SM54") == (False, True)
    assert names(f"?establishment={hospital.pk}") == (True, False)
    assert names("?q=personne") == (False, False)


def test_suspended_practitioners_and_sites_are_not_listed(client_for, regional_admin, listed):
    radiologist, gp = listed
    Accreditation.objects.filter(practitioner=gp).update(status="suspended")
    PracticeSite.objects.filter(practitioner__user=radiologist).update(status="suspended")
    page = client_for(regional_admin).get(URL).content.decode()
    assert "Généraliste Anne" not in page
    assert "03 87 55 31 00" not in page


def test_htmx_gets_the_results_alone(client_for, regional_admin, listed) -> None:
    response = client_for(regional_admin).get(URL + "?q=radio", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "Radiologue Charlie" in page
    assert "<h1>" not in page


def test_it_is_paginated_with_bounded_queries(
    client_for, regional_admin, hospital, django_assert_max_num_queries
) -> None:
    for n in range(30):
        practitioner = PractitionerFactory(user=UserFactory(last_name=f"Nom{n:02d}"))
        AccreditationFactory(practitioner=practitioner)
        PracticeSiteFactory(practitioner=practitioner, establishment=hospital, phone=f"{n}")
    client = client_for(regional_admin)
    with django_assert_max_num_queries(14):
        page = client.get(URL).content.decode()
    assert "Nom00" in page
    assert "Nom29" not in page
    assert "Page 1 sur 2" in page
    with django_assert_max_num_queries(14):
        assert "Nom29" in client.get(URL + "?page=2").content.decode()
