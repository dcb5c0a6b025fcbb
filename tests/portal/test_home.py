"""Each role sees a home page fit for it; nobody sees another role's panel."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_read_what_the_network_is(client: Client) -> None:
    page = client.get("/").content.decode()
    assert "Le réseau régional de partage d'imagerie médicale" in page
    assert 'href="/accounts/login/"' in page


def _panels(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_regional_admin_sees_the_network_figures(client_for, regional_admin, hospital) -> None:
    page = _panels(client_for(regional_admin))
    assert "Le réseau régional" in page
    assert "Professionnels habilités" in page
    assert "Mon habilitation" not in page


def test_auditor_sees_the_access_trail_mission(client_for, auditor) -> None:
    page = _panels(client_for(auditor))
    assert "Audit et protection des données" in page
    assert "Le réseau régional" not in page


def test_director_sees_their_establishment(client_for, director, referent) -> None:
    page = _panels(client_for(director))
    assert "Direction d'établissement" in page
    assert "CHR Metz-Thionville" in page
    assert "Rose Référente" in page  # the team they lead
    assert "Référent d'établissement" not in page.split("Vos rôles")[1].split("</p>")[0]


def test_referent_sees_their_establishment(client_for, referent) -> None:
    page = _panels(client_for(referent))
    assert "Vous validez les demandes d'habilitation" in page
    assert "CHR Metz-Thionville" in page
    assert "Direction d'établissement" not in page


def test_practitioner_sees_their_accreditation_and_sites(
    client_for, practitioner, hospital
) -> None:
    from practitioners.models import PracticeSite

    PracticeSite.objects.create(practitioner=practitioner.practitioner, establishment=hospital)
    page = _panels(client_for(practitioner))
    assert "Mon habilitation" in page
    assert "active jusqu" in page
    assert "CHR Metz-Thionville" in page


def test_an_expired_accreditation_is_no_practitioner_role(client_for, outsider) -> None:
    outsider.practitioner.accreditations.update(status="expired")
    page = _panels(client_for(outsider))
    assert "Mon habilitation" not in page
    assert "pas encore de rôle" in page


def test_patient_sees_their_record(client_for, patient) -> None:
    page = _panels(client_for(patient))
    assert "Mon dossier d'imagerie" in page
    assert "Hélène DURAND" in page
    assert "Le réseau régional" not in page


def test_the_home_page_costs_a_bounded_number_of_queries(
    client_for, director, django_assert_max_num_queries
) -> None:
    client = client_for(director)
    # The dashboards' panel adds two: the month's rollups of all the director's
    # establishments at once, and the rollups' freshness.
    with django_assert_max_num_queries(15):
        client.get("/")


def test_unknown_pages_answer_a_french_404(client: Client) -> None:
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_forbidden_pages_answer_a_french_403(rf, patient) -> None:
    from django.core.exceptions import PermissionDenied

    from portal.roles import Role, role_required

    @role_required(Role.REGIONAL_ADMIN)
    def admin_only(request):  # pragma: no cover - never reached
        raise AssertionError

    request = rf.get("/")
    request.user = patient
    with pytest.raises(PermissionDenied):
        admin_only(request)
