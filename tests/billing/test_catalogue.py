"""Offers and price lists: versions that never overlap, bands that cover every volume once,
lists frozen once a signed order uses them, and only regional administrators editing."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing import services
from billing.models import Offer, OfferPrice, PriceBand, PriceList
from billing.pricing import Band, OfferTariff
from tests.billing.factories import DEFAULT_TARIFFS, make_price_list, make_signed

pytestmark = pytest.mark.django_db

D = datetime.date


def test_the_migration_creates_the_three_offers_with_french_names(db) -> None:
    # Run the data migration's own function: transactional tests may have flushed its rows.
    migration = importlib.import_module("billing.migrations.0002_offers")
    Offer.objects.all().delete()
    migration.create_offers(django_apps, None)
    migration.create_offers(django_apps, None)  # idempotent
    names = dict(Offer.objects.values_list("code", "name"))
    assert names == {"pacs": "PACS", "archive": "Archivage", "sharing": "Partage d'images"}


def test_it_creates_a_price_list_with_fees_and_bands(offers, regional_admin) -> None:
    price_list = make_price_list(created_by=regional_admin)
    assert price_list.created_by == regional_admin
    assert OfferPrice.objects.get(
        price_list=price_list, offer=offers["pacs"]
    ).annual_fee == Decimal("1200.00")
    assert PriceBand.objects.filter(price_list=price_list, offer=offers["pacs"]).count() == 2


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (D(2026, 6, 1), None),  # open-ended, starts inside
        (D(2025, 1, 1), D(2026, 1, 1)),  # ends on the first day of the other (bounds included)
        (D(2026, 12, 31), D(2027, 3, 1)),  # starts on its last day
        (D(2025, 1, 1), None),  # covers it entirely
    ],
)
def test_it_refuses_an_overlapping_price_list(offers, start, end) -> None:
    make_price_list(valid_from=D(2026, 1, 1), valid_until=D(2026, 12, 31))
    with pytest.raises(ValidationError) as error:
        make_price_list(label="Autre", valid_from=start, valid_until=end)
    assert "chevauche" in str(error.value.message_dict["valid_from"])
    assert PriceList.objects.count() == 1


def test_it_accepts_adjacent_price_lists(offers) -> None:
    make_price_list(valid_from=D(2026, 1, 1), valid_until=D(2026, 12, 31))
    make_price_list(label="2027", valid_from=D(2027, 1, 1), valid_until=None)
    assert PriceList.objects.count() == 2


def test_postgresql_itself_refuses_overlapping_periods(offers) -> None:
    PriceList.objects.create(label="A", valid_from=D(2026, 1, 1), valid_until=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceList.objects.create(label="B", valid_from=D(2030, 1, 1), valid_until=D(2030, 2, 1))


def test_it_refuses_a_period_that_ends_before_it_starts(offers) -> None:
    with pytest.raises(ValidationError) as error:
        make_price_list(valid_from=D(2026, 5, 1), valid_until=D(2026, 4, 30))
    assert "valid_until" in error.value.message_dict


def test_it_refuses_bands_with_a_gap_or_an_overlap(offers) -> None:
    gap = OfferTariff(
        "pacs", Decimal("1"), (Band(0, 99, Decimal("1")), Band(200, None, Decimal("1")))
    )
    overlap = OfferTariff(
        "sharing", Decimal("1"), (Band(0, 99, Decimal("1")), Band(50, None, Decimal("1")))
    )
    with pytest.raises(ValidationError) as error:
        make_price_list(tariffs=[gap, overlap])
    assert "Il manque une tranche" in str(error.value.message_dict["bands_pacs"])
    assert "chevauche" in str(error.value.message_dict["bands_sharing"])
    assert not PriceList.objects.exists()


def test_it_refuses_a_price_list_that_prices_nothing(offers) -> None:
    with pytest.raises(ValidationError):
        make_price_list(tariffs=[])


def test_only_regional_admins_create_price_lists(offers, director) -> None:
    with pytest.raises(PermissionDenied):
        make_price_list(created_by=director)


def test_it_updates_a_price_list_no_signed_order_uses(offers, regional_admin) -> None:
    price_list = make_price_list()
    services.price_list_update(
        price_list=price_list,
        label="Tarifs révisés",
        valid_from=price_list.valid_from,
        valid_until=None,
        tariffs=[OfferTariff("pacs", Decimal("999.99"), (Band(0, None, Decimal("0.33")),))],
        by=regional_admin,
    )
    price_list.refresh_from_db()
    assert price_list.label == "Tarifs révisés"
    assert list(price_list.offer_prices.values_list("annual_fee", flat=True)) == [Decimal("999.99")]
    assert price_list.bands.count() == 1


def test_it_refuses_to_edit_a_price_list_a_signed_order_uses(
    price_list, hospital, director, regional_admin
) -> None:
    make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError) as error:
        services.price_list_update(
            price_list=price_list,
            label="Nouveau",
            valid_from=price_list.valid_from,
            valid_until=None,
            tariffs=DEFAULT_TARIFFS,
            by=regional_admin,
        )
    assert error.value.code == "locked"
    assert price_list.offer_prices.get(offer__code="pacs").annual_fee == Decimal("1200.00")


def test_it_closes_a_used_price_list_but_not_before_a_signed_order_starts(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError):
        services.price_list_close(
            price_list=price_list,
            valid_until=order.start_date - datetime.timedelta(days=1),
            by=regional_admin,
        )
    services.price_list_close(
        price_list=price_list, valid_until=order.start_date, by=regional_admin
    )
    price_list.refresh_from_db()
    assert price_list.valid_until == order.start_date


# --- Pages --------------------------------------------------------------------------------------


def _form_data(**overrides: str) -> dict[str, str]:
    data = {
        "label": "Tarifs 2027",
        "valid_from": "2027-01-01",
        "valid_until": "",
        "fee_pacs": "1 500,00",
        "fee_archive": "",
        "fee_sharing": "",
    }
    for code in ("pacs", "archive", "sharing"):
        data.update(
            {
                f"bands-{code}-TOTAL_FORMS": "2",
                f"bands-{code}-INITIAL_FORMS": "0",
                f"bands-{code}-MIN_NUM_FORMS": "0",
                f"bands-{code}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(
        {
            "bands-pacs-0-min_volume": "0",
            "bands-pacs-0-max_volume": "9999",
            "bands-pacs-0-price_per_study": "0,45",
            "bands-pacs-1-min_volume": "10000",
            "bands-pacs-1-max_volume": "",
            "bands-pacs-1-price_per_study": "0.35",
        }
    )
    data.update(overrides)
    return data


def test_a_regional_admin_creates_a_price_list_through_the_page(
    client_for, regional_admin, offers
) -> None:
    client = client_for(regional_admin)
    assert client.get(reverse("billing:price-list-create")).status_code == 200
    response = client.post(reverse("billing:price-list-create"), _form_data())
    price_list = PriceList.objects.get()
    assert response["Location"] == reverse("billing:price-list-detail", args=[price_list.pk])
    assert price_list.created_by == regional_admin
    bands = list(price_list.bands.values_list("min_volume", "max_volume", "price_per_study"))
    assert bands == [(0, 9999, Decimal("0.45")), (10000, None, Decimal("0.35"))]
    assert price_list.offer_prices.get().annual_fee == Decimal("1500.00")
    page = client.get(response["Location"]).content.decode()
    assert "Tarifs 2027" in page
    assert "Règle de calcul" in page


def test_the_page_shows_band_errors_next_to_the_offer(client_for, regional_admin, offers) -> None:
    response = client_for(regional_admin).post(
        reverse("billing:price-list-create"), _form_data(**{"bands-pacs-1-min_volume": "9000"})
    )
    assert response.status_code == 400
    assert "chevauche la précédente" in response.content.decode()
    assert not PriceList.objects.exists()


def test_the_page_refuses_an_overlapping_period(client_for, regional_admin, price_list) -> None:
    response = client_for(regional_admin).post(
        reverse("billing:price-list-create"), _form_data(valid_from="2026-01-01")
    )
    assert response.status_code == 400
    assert "chevauche la grille" in response.content.decode()
    assert PriceList.objects.count() == 1


def test_the_page_refuses_bands_without_an_annual_fee(client_for, regional_admin, offers) -> None:
    response = client_for(regional_admin).post(
        reverse("billing:price-list-create"), _form_data(fee_pacs="")
    )
    assert response.status_code == 400
    assert "Renseignez le forfait annuel" in response.content.decode()


def test_a_regional_admin_edits_a_price_list_through_the_page(
    client_for, regional_admin, price_list
) -> None:
    client = client_for(regional_admin)
    url = reverse("billing:price-list-edit", args=[price_list.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="bands-pacs-1-min_volume"' in page.content.decode()
    response = client.post(url, _form_data(label="Révisée", valid_from="2020-01-01"))
    assert response.status_code == 302
    price_list.refresh_from_db()
    assert price_list.label == "Révisée"
    assert list(price_list.offer_prices.values_list("offer__code", flat=True)) == ["pacs"]


def test_the_edit_page_refuses_a_price_list_a_signed_order_uses(
    client_for, regional_admin, price_list, hospital, director
) -> None:
    make_signed(establishment=hospital, director=director)
    client = client_for(regional_admin)
    url = reverse("billing:price-list-edit", args=[price_list.pk])
    response = client.post(url, _form_data(label="Révisée", valid_from="2020-01-01"))
    assert response["Location"] == reverse("billing:price-list-detail", args=[price_list.pk])
    price_list.refresh_from_db()
    assert price_list.label == "Tarifs 2020"
    detail = client.get(response["Location"]).content.decode()
    assert "ne peut plus être modifiée" in detail


def test_a_regional_admin_closes_a_price_list(client_for, regional_admin, price_list) -> None:
    response = client_for(regional_admin).post(
        reverse("billing:price-list-close", args=[price_list.pk]), {"valid_until": "2026-12-31"}
    )
    assert response.status_code == 302
    price_list.refresh_from_db()
    assert price_list.valid_until == D(2026, 12, 31)


def test_a_regional_admin_edits_an_offer(client_for, regional_admin, offers) -> None:
    offer = offers["archive"]
    response = client_for(regional_admin).post(
        reverse("billing:offer-edit", args=[offer.pk]),
        {"name": "Archivage légal", "description": "Dix ans", "active": ""},
    )
    assert response["Location"] == reverse("billing:offer-list")
    offer.refresh_from_db()
    assert (offer.name, offer.active) == ("Archivage légal", False)


@pytest.mark.parametrize(
    "route",
    ["billing:offer-list", "billing:price-list-list", "billing:price-list-create"],
)
def test_catalogue_pages_are_for_regional_admins(client_for, regional_admin, offers, route) -> None:
    assert client_for(regional_admin).get(reverse(route)).status_code == 200


@pytest.mark.parametrize(
    "route",
    ["billing:offer-list", "billing:price-list-list", "billing:price-list-create"],
)
@pytest.mark.parametrize("who", ["director", "auditor", "practitioner"])
def test_catalogue_pages_refuse_other_roles(client_for, request, offers, route, who) -> None:
    assert client_for(request.getfixturevalue(who)).get(reverse(route)).status_code == 403


def test_catalogue_pages_send_anonymous_visitors_to_sign_in(client, price_list) -> None:
    for url in (
        reverse("billing:price-list-list"),
        reverse("billing:price-list-detail", args=[price_list.pk]),
    ):
        assert client.get(url)["Location"].startswith(reverse("account_login"))


def test_a_director_cannot_edit_or_close_a_price_list(client_for, director, price_list) -> None:
    client = client_for(director)
    edit = client.post(
        reverse("billing:price-list-edit", args=[price_list.pk]),
        _form_data(valid_from="2020-01-01"),
    )
    close = client.post(
        reverse("billing:price-list-close", args=[price_list.pk]), {"valid_until": "2026-12-31"}
    )
    assert (edit.status_code, close.status_code) == (403, 403)
    price_list.refresh_from_db()
    assert (price_list.label, price_list.valid_until) == ("Tarifs 2020", None)


def test_the_price_list_list_runs_a_bounded_number_of_queries(
    client_for, regional_admin, offers, django_assert_max_num_queries
) -> None:
    for year in range(2010, 2016):
        make_price_list(label=str(year), valid_from=D(year, 1, 1), valid_until=D(year, 12, 31))
    client = client_for(regional_admin)
    client.get(reverse("billing:price-list-list"))  # warm the session and role caches
    with django_assert_max_num_queries(12):
        response = client.get(reverse("billing:price-list-list"))
    assert response.content.decode().count("/tarifs/") >= 6
