"""Home panels and menu entries of the establishments app, by role."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.establishments.factories import submit_application

pytestmark = pytest.mark.django_db


def _home(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _nav(page: str) -> str:
    return page.split('aria-label="Navigation principale"')[1].split("</nav>")[0]


def test_regional_admins_get_the_list_and_the_queue(client_for, regional_admin, applicant) -> None:
    submit_application(applicant)
    page = _home(client_for(regional_admin))
    nav = _nav(page)
    assert 'href="/etablissements/"' in nav
    assert 'href="/adhesion/demandes/"' in nav
    assert "Mon établissement" not in nav
    assert "1 demande d'adhésion en attente" in page


@pytest.mark.parametrize("role", ["director", "referent"])
def test_directors_and_referents_get_mon_etablissement(request, client_for, role) -> None:
    page = _home(client_for(request.getfixturevalue(role)))
    nav = _nav(page)
    assert 'href="/mon-etablissement/"' in nav
    assert 'href="/etablissements/"' not in nav
    assert 'href="/adhesion/demandes/"' not in nav


def test_a_user_with_no_role_is_offered_to_declare(client_for, applicant) -> None:
    page = _home(client_for(applicant))
    assert 'href="/adhesion/declarer/"' in page
    assert "Déclarer mon établissement" in page
    assert "pas encore de rôle" in page  # portal's own welcome panel stays


def test_the_no_role_panel_lists_the_users_declarations(client_for, applicant) -> None:
    submit_application(applicant)
    page = _home(client_for(applicant))
    assert "Clinique des Vosges" in page
    assert 'href="/adhesion/mes-demandes/"' in page


@pytest.mark.parametrize("role", ["regional_admin", "director", "practitioner", "patient"])
def test_people_with_a_role_are_not_offered_the_declaration_panel(
    request, client_for, role
) -> None:
    page = _home(client_for(request.getfixturevalue(role)))
    assert 'id="panel-declare"' not in page


def test_the_director_panel_links_to_the_establishment_page(client_for, director, hospital) -> None:
    page = _home(client_for(director))
    assert f'href="/mon-etablissement/{hospital.pk}/"' in page


def test_the_regional_admin_home_costs_a_bounded_number_of_queries(
    client_for, regional_admin, django_assert_max_num_queries
) -> None:
    client = client_for(regional_admin)
    # The dashboards' and funder reports' panels add three: the region's rollups of the
    # month, their freshness and the latest report.
    with django_assert_max_num_queries(18):
        client.get("/")
