"""The establishments API: who reads what, who writes, and per-field errors."""

from __future__ import annotations

import pytest
from django.test import Client

from establishments.models import Establishment, Membership
from tests.factories import EstablishmentFactory, MembershipFactory, with_luhn

pytestmark = pytest.mark.django_db

LIST = "/api/v1/establishments/"
Status = Establishment.Status


def _detail(establishment: Establishment) -> str:
    return f"{LIST}{establishment.pk}/"


@pytest.fixture
def elsewhere() -> Establishment:
    return EstablishmentFactory(name="Clinique d'ailleurs", status=Status.PROSPECT, city="Épinal")


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Reading -----------------------------------------------------------------------------------


def test_regional_admins_list_every_establishment(
    client_for, regional_admin, hospital, elsewhere
) -> None:
    response = client_for(regional_admin).get(LIST)
    assert _ids(response) == {hospital.pk, elsewhere.pk}
    row = next(row for row in response.json()["results"] if row["id"] == hospital.pk)
    assert row["finess_eg"] == hospital.finess_eg
    assert row["status"] == "member"
    assert set(row) >= {"finess_ej", "siret", "kind", "city", "department", "ght"}


def test_regional_admins_search_and_filter(client_for, regional_admin, hospital, elsewhere) -> None:
    client = client_for(regional_admin)
    assert _ids(client.get(LIST, {"search": "ailleurs"})) == {elsewhere.pk}
    assert _ids(client.get(LIST, {"search": hospital.finess_eg})) == {hospital.pk}
    assert _ids(client.get(LIST, {"status": "prospect"})) == {elsewhere.pk}
    assert _ids(client.get(LIST, {"status": "member", "search": "ailleurs"})) == set()


def test_an_unknown_status_filter_is_a_400(client_for, regional_admin) -> None:
    response = client_for(regional_admin).get(LIST, {"status": "ferme"})
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.parametrize("role", ["director", "referent"])
def test_members_list_only_their_own_establishments(
    request, client_for, role, hospital, elsewhere
) -> None:
    client = client_for(request.getfixturevalue(role))
    assert _ids(client.get(LIST)) == {hospital.pk}
    assert client.get(_detail(hospital)).status_code == 200


@pytest.mark.parametrize("role", ["director", "referent"])
def test_members_get_404_for_an_establishment_that_is_not_theirs(
    request, client_for, role, elsewhere
) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.get(_detail(elsewhere)).status_code == 404
    assert _ids(client.get(LIST, {"search": "ailleurs"})) == set()


def test_a_removed_director_no_longer_reads_it(client_for, director, hospital) -> None:
    Membership.objects.filter(user=director).update(ended_at="2026-01-01T00:00:00Z")
    assert client_for(director).get(_detail(hospital)).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "practitioner", "outsider", "patient", "applicant"])
def test_other_roles_are_refused(request, client_for, role, hospital) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.get(LIST).status_code == 403
    assert client.get(_detail(hospital)).status_code == 403


def test_anonymous_callers_are_refused(client: Client, hospital) -> None:
    assert client.get(LIST).status_code == 403
    assert client.get(_detail(hospital)).status_code == 403


def test_the_list_costs_a_bounded_number_of_queries(
    client_for, regional_admin, django_assert_max_num_queries
) -> None:
    for establishment in EstablishmentFactory.create_batch(40):
        MembershipFactory(establishment=establishment)
    client = client_for(regional_admin)
    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert response.json()["count"] == 40


# --- Writing -----------------------------------------------------------------------------------

NEW = {
    "finess_eg": with_luhn("88078050"),
    "finess_ej": with_luhn("88000050"),
    "siret": "772 201 489 00022",
    "name": "Clinique de la Moselle",
    "kind": "clinic",
    "postal_code": "57000",
    "city": "Metz",
}


def test_a_regional_admin_creates_a_prospect(client_for, regional_admin) -> None:
    response = client_for(regional_admin).post(LIST, NEW, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "prospect"
    assert body["siret"] == "77220148900022"
    assert body["department"] == "57"
    establishment = Establishment.objects.get(pk=body["id"])
    assert establishment.name == "Clinique de la Moselle"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("finess_eg", "540002699", "La clé du numéro FINESS est incorrecte."),
        ("finess_eg", "12345", "Le numéro FINESS doit comporter 9 caractères."),
        ("finess_ej", "ABCDEFGHI", "Le numéro FINESS ne doit comporter que des chiffres"),
        ("siret", "77220148900023", "La clé du numéro SIRET est incorrecte."),
        ("postal_code", "570", "Le code postal doit comporter 5 chiffres."),
        ("kind", "hopital", "n'est pas un choix valide"),
    ],
)
def test_bad_fields_are_a_400_with_per_field_errors(
    client_for, regional_admin, field, value, message
) -> None:
    response = client_for(regional_admin).post(
        LIST, {**NEW, field: value}, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert any(message in error for error in errors[field])
    assert not Establishment.objects.filter(name="Clinique de la Moselle").exists()


def test_a_known_finess_is_a_400(client_for, regional_admin, hospital) -> None:
    response = client_for(regional_admin).post(
        LIST, {**NEW, "finess_eg": hospital.finess_eg}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "finess_eg" in response.json()


def test_a_regional_admin_corrects_an_establishment(client_for, regional_admin, hospital) -> None:
    response = client_for(regional_admin).patch(
        _detail(hospital),
        {"ght": "GHT Lorraine Nord", "postal_code": "57530", "status": "left"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    hospital.refresh_from_db()
    assert hospital.ght == "GHT Lorraine Nord"
    assert hospital.department == "57"
    assert hospital.status == Status.MEMBER  # status is read-only here


def test_a_bad_finess_in_a_patch_is_a_400(client_for, regional_admin, hospital) -> None:
    before = hospital.finess_eg
    response = client_for(regional_admin).patch(
        _detail(hospital), {"finess_eg": "540002699"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"finess_eg": ["La clé du numéro FINESS est incorrecte."]}
    hospital.refresh_from_db()
    assert hospital.finess_eg == before


@pytest.mark.parametrize("role", ["director", "referent", "auditor", "outsider"])
def test_only_regional_admins_write(request, client_for, role, hospital) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.post(LIST, NEW, content_type="application/json").status_code == 403
    response = client.patch(_detail(hospital), {"name": "Piraté"}, content_type="application/json")
    assert response.status_code == 403
    hospital.refresh_from_db()
    assert hospital.name == "CHR Metz-Thionville"
    assert not Establishment.objects.filter(name="Clinique de la Moselle").exists()


def test_put_and_delete_are_not_offered(client_for, regional_admin, hospital) -> None:
    client = client_for(regional_admin)
    assert client.delete(_detail(hospital)).status_code == 405
    assert client.put(_detail(hospital), NEW, content_type="application/json").status_code == 405
    assert Establishment.objects.filter(pk=hospital.pk).exists()


# --- Schema ------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_the_endpoints(client_for, regional_admin) -> None:
    response = client_for(regional_admin).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths["/api/v1/establishments/"]) >= {"get", "post"}
    assert set(paths["/api/v1/establishments/{id}/"]) >= {"get", "patch"}
    assert "put" not in paths["/api/v1/establishments/{id}/"]
    parameters = {p["name"] for p in paths["/api/v1/establishments/"]["get"]["parameters"]}
    assert {"search", "status", "page"} <= parameters
    assert paths["/api/v1/establishments/"]["get"]["summary"] == "Lister les établissements"
