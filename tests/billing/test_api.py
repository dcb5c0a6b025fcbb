"""The billing API: read-only, object-level checks, 403 for wrong roles, 404 for non-parties."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.billing.factories import make_active, make_draft, make_signed

pytestmark = pytest.mark.django_db

LIST = reverse("billing-api-purchase-order-list")


def _detail(order) -> str:
    return reverse("billing-api-purchase-order-detail", args=[order.pk])


def test_regional_admins_list_every_order(
    client_for, regional_admin, director, other_director, hospital, other_hospital, price_list
) -> None:
    mine = make_signed(establishment=hospital, director=director)
    theirs = make_draft(establishment=other_hospital, director=other_director)
    response = client_for(regional_admin).get(LIST)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {mine.pk, theirs.pk}


def test_directors_list_only_their_establishments_orders(
    client_for, director, other_director, hospital, other_hospital, price_list
) -> None:
    mine = make_signed(establishment=hospital, director=director)
    make_signed(establishment=other_hospital, director=other_director)
    rows = client_for(director).get(LIST).json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    row = rows[0]
    assert row["number"] == mine.number
    assert row["establishment"]["finess_eg"] == hospital.finess_eg
    assert row["total_amount"] == "8300.00"
    assert {line["offer"] for line in row["lines"]} == {"pacs", "sharing"}
    assert row["signatures"][0]["role"] == "director"


def test_the_list_filters_by_status(client_for, regional_admin, director, hospital, price_list):
    signed = make_signed(establishment=hospital, director=director)
    make_draft(establishment=hospital, director=director)
    rows = client_for(regional_admin).get(LIST, {"status": "signed"}).json()["results"]
    assert [row["id"] for row in rows] == [signed.pk]


@pytest.mark.parametrize("who", ["referent", "practitioner", "auditor", "patient"])
def test_other_roles_get_403_on_the_list(client_for, request, who) -> None:
    assert client_for(request.getfixturevalue(who)).get(LIST).status_code == 403


def test_anonymous_users_get_403_on_the_list(client) -> None:
    assert client.get(LIST).status_code == 403


def test_parties_read_an_order_with_lines_signatures_and_documents(
    client_for, regional_admin, director, hospital, price_list
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    for user in (director, regional_admin):
        data = client_for(user).get(_detail(order)).json()
        assert data["status"] == "active"
        assert [s["role"] for s in data["signatures"]] == ["director", "regional_admin"]
        assert {d["kind"] for d in data["documents"]} == {"signed", "countersigned"}
        assert data["documents"][0]["download_url"].startswith(f"/bons-de-commande/{order.pk}/pdf/")


@pytest.mark.parametrize("who", ["other_director", "referent", "practitioner", "auditor"])
def test_non_parties_get_404_on_an_order(client_for, request, director, hospital, price_list, who):
    order = make_signed(establishment=hospital, director=director)
    assert client_for(request.getfixturevalue(who)).get(_detail(order)).status_code == 404


def test_the_order_list_runs_a_bounded_number_of_queries(
    client_for, regional_admin, director, hospital, price_list, django_assert_max_num_queries
) -> None:
    for _ in range(5):
        make_signed(establishment=hospital, director=director)
    client = client_for(regional_admin)
    client.get(LIST)
    # Session, roles (one query per role resolver), MFA check, then count, orders, lines and
    # signatures: independent of the number of orders.
    with django_assert_max_num_queries(15):
        assert len(client.get(LIST).json()["results"]) == 5


@pytest.mark.parametrize("who", ["regional_admin", "director", "referent", "auditor"])
def test_staff_read_offers_and_price_lists(client_for, request, price_list, who) -> None:
    client = client_for(request.getfixturevalue(who))
    offers = client.get(reverse("billing-api-offer-list")).json()
    assert [offer["code"] for offer in offers] == ["pacs", "archive", "sharing"]
    lists = client.get(reverse("billing-api-price-list-list")).json()["results"]
    assert lists[0]["label"] == "Tarifs 2020"
    pacs_bands = [band for band in lists[0]["bands"] if band["offer"] == "pacs"]
    assert pacs_bands[1] == {
        "offer": "pacs",
        "min_volume": 10000,
        "max_volume": None,
        "price_per_study": "0.40",
    }


def test_patients_and_anonymous_users_cannot_read_the_catalogue(client, client_for, patient):
    for url in (reverse("billing-api-offer-list"), reverse("billing-api-price-list-list")):
        assert client.get(url).status_code == 403
    for url in (reverse("billing-api-offer-list"), reverse("billing-api-price-list-list")):
        assert client_for(patient).get(url).status_code == 403


def test_the_catalogue_is_read_only(client_for, regional_admin, price_list) -> None:
    response = client_for(regional_admin).post(
        reverse("billing-api-offer-list"), {"code": "x"}, content_type="application/json"
    )
    assert response.status_code == 405


def test_the_schema_documents_the_billing_endpoints(client_for, regional_admin) -> None:
    schema = client_for(regional_admin).get("/api/schema/").content.decode()
    assert "/api/v1/purchase-orders/{id}/" in schema
    assert "/api/v1/price-lists/" in schema
