"""The FINESS reference autocomplete of the declaration form (HTMX)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from establishments.models import Establishment, FinessEntry
from tests.establishments.factories import FinessEntryFactory, closed_entry

pytestmark = pytest.mark.django_db

SEARCH = reverse("establishments:finess_search")
DECLARE = reverse("establishments:declare")


@pytest.fixture
def entries() -> dict[str, FinessEntry]:
    return {
        "metz": FinessEntryFactory(
            name="HOPITAL DE MERCY", city="ARS-LAQUENEXY", finess="570000059"
        ),
        "nancy": FinessEntryFactory(
            name="CHRU DE NANCY BRABOIS", city="VANDOEUVRE", finess="540002698"
        ),
        "closed": closed_entry(name="MATERNITE DE MERCY FERMEE", city="METZ"),
        "legal": FinessEntryFactory(
            name="CHR METZ-THIONVILLE ENTITE", level=FinessEntry.Level.LEGAL_ENTITY
        ),
    }


def test_it_sends_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get(SEARCH, {"q": "mercy"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_finds_sites_by_name_number_and_city(client_for, applicant, entries) -> None:
    client = client_for(applicant)
    by_name = client.get(SEARCH, {"q": "mercy"}, HTTP_HX_REQUEST="true").content.decode()
    assert "HOPITAL DE MERCY" in by_name
    assert "CHRU DE NANCY" not in by_name
    by_number = client.get(SEARCH, {"q": "540002"}).content.decode()
    assert "CHRU DE NANCY BRABOIS" in by_number
    by_city = client.get(SEARCH, {"q": "vandoeuvre"}).content.decode()
    assert "CHRU DE NANCY BRABOIS" in by_city
    both_words = client.get(SEARCH, {"q": "mercy ars"}).content.decode()
    assert "HOPITAL DE MERCY" in both_words
    assert "MATERNITE" not in both_words


def test_it_ignores_legal_entities(client_for, applicant, entries) -> None:
    page = client_for(applicant).get(SEARCH, {"q": "entite"}).content.decode()
    assert "CHR METZ-THIONVILLE ENTITE" not in page
    assert "Aucun établissement trouvé" in page


def test_it_needs_three_characters(client_for, applicant, entries) -> None:
    page = client_for(applicant).get(SEARCH, {"q": "me"}).content.decode()
    assert "Saisissez au moins 3 caractères." in page
    assert "MERCY" not in page


def test_it_shows_closed_entries_marked_and_not_selectable(client_for, applicant, entries) -> None:
    page = client_for(applicant).get(SEARCH, {"q": "mercy"}).content.decode()
    closed = entries["closed"]
    assert "MATERNITE DE MERCY FERMEE" in page
    assert "Fermé le 03/03/2019 : ne peut pas être déclaré" in page
    assert f"?finess={closed.finess}" not in page
    assert f"?finess={entries['metz'].finess}" in page
    # Open entries come first.
    assert page.index("HOPITAL DE MERCY") < page.index("MATERNITE DE MERCY")


def test_picking_an_entry_fills_the_form(client_for, applicant, entries) -> None:
    response = client_for(applicant).get(DECLARE, {"finess": "570000059"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith("<fieldset")  # the fields alone, swapped in by HTMX
    assert 'value="570000059"' in page
    assert 'value="HOPITAL DE MERCY"' in page
    assert 'value="ARS-LAQUENEXY"' in page
    assert f'<option value="{Establishment.Kind.GENERAL_HOSPITAL}" selected>' in page
    assert 'name="finess_entry" value="570000059"' in page
    assert 'hx-swap-oob="true"' in page


def test_picking_without_javascript_reloads_the_page_filled(client_for, applicant, entries) -> None:
    page = client_for(applicant).get(DECLARE, {"finess": "540002698"}).content.decode()
    assert "<h1>Déclarer mon établissement</h1>" in page
    assert 'value="CHRU DE NANCY BRABOIS"' in page


def test_the_search_works_without_javascript(client_for, applicant, entries) -> None:
    page = client_for(applicant).get(DECLARE, {"q": "brabois"}).content.decode()
    assert "<h1>Déclarer mon établissement</h1>" in page
    assert "CHRU DE NANCY BRABOIS" in page


def test_picking_a_closed_entry_is_refused(client_for, applicant, entries) -> None:
    closed = entries["closed"]
    page = client_for(applicant).get(DECLARE, {"finess": closed.finess}).content.decode()
    assert "fermé dans le référentiel FINESS" in page
    assert f'value="{closed.finess}"' not in page


def test_the_search_costs_a_bounded_number_of_queries(
    client_for, applicant, django_assert_max_num_queries
) -> None:
    FinessEntryFactory.create_batch(30, name="CLINIQUE DU PARC")
    client = client_for(applicant)
    with django_assert_max_num_queries(12):
        page = client.get(SEARCH, {"q": "parc"}).content.decode()
    assert page.count("<li>") == 10
