"""Billing's entries in the menu and its home panels, by role."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from portal.home import panels_for
from tests.billing.factories import make_signed

pytestmark = pytest.mark.django_db


def _nav_labels(response) -> list[str]:
    return [str(item["label"]) for item in response.context["navigation"]]


def _billing_panels(user) -> dict[str, dict]:
    request = RequestFactory().get("/")
    request.user = user
    return {
        panel["template"]: panel["context"]
        for panel in panels_for(request)
        if panel["template"].startswith("billing/")
    }


def test_regional_admins_get_tariffs_and_orders_in_the_menu(client_for, regional_admin) -> None:
    labels = _nav_labels(client_for(regional_admin).get(reverse("billing:purchase-order-list")))
    assert "Tarifs" in labels
    assert "Bons de commande" in labels


def test_directors_get_orders_but_not_tariffs(client_for, director) -> None:
    labels = _nav_labels(client_for(director).get(reverse("billing:purchase-order-list")))
    assert "Bons de commande" in labels
    assert "Tarifs" not in labels


def test_other_roles_get_neither(client_for, referent) -> None:
    response = client_for(referent).get(reverse("billing:purchase-order-list"))
    assert response.status_code == 403
    labels = _nav_labels(response)
    assert "Bons de commande" not in labels
    assert "Tarifs" not in labels


def test_regional_admins_see_how_many_orders_await_them(
    regional_admin, director, hospital, price_list
) -> None:
    make_signed(establishment=hospital, director=director)
    panels = _billing_panels(regional_admin)
    assert list(panels) == ["billing/home/regional_admin.html"]
    html = render_to_string(
        "billing/home/regional_admin.html", {"panel": panels["billing/home/regional_admin.html"]}
    )
    assert "1 bon de commande attend votre contresignature" in html
    assert reverse("billing:purchase-order-queue") in html


def test_directors_see_their_own_orders_on_the_home_page(
    director, other_director, hospital, other_hospital, price_list
) -> None:
    mine = make_signed(establishment=hospital, director=director)
    theirs = make_signed(establishment=other_hospital, director=other_director)
    panels = _billing_panels(director)
    assert list(panels) == ["billing/home/director.html"]
    html = render_to_string(
        "billing/home/director.html", {"panel": panels["billing/home/director.html"]}
    )
    assert mine.number in html
    assert theirs.number not in html


def test_other_roles_get_no_billing_panel(referent, practitioner) -> None:
    assert _billing_panels(referent) == {}
    assert _billing_panels(practitioner) == {}
