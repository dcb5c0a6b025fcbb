"""The pricing rule, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.pricing import Band, OfferTariff, PricingError, band_errors, band_for, estimate

BANDS = (
    Band(0, 999, Decimal("1.00")),
    Band(1000, 4999, Decimal("0.80")),
    Band(5000, None, Decimal("0.50")),
)


@pytest.mark.parametrize(
    ("volume", "price"),
    [(0, "1.00"), (999, "1.00"), (1000, "0.80"), (4999, "0.80"), (5000, "0.50"), (10**7, "0.50")],
)
def test_it_picks_the_band_containing_the_volume_bounds_included(volume, price) -> None:
    assert band_for(BANDS, volume).price_per_study == Decimal(price)


def test_it_prices_the_whole_volume_at_one_band_plus_the_annual_fee() -> None:
    tariffs = {
        "pacs": OfferTariff("pacs", Decimal("1200"), BANDS, "PACS"),
        "sharing": OfferTariff("sharing", Decimal("500.5"), (Band(0, None, Decimal("0.125")),)),
    }
    result = estimate(tariffs=tariffs, offer_codes=["pacs", "sharing"], volume=6000)
    pacs, sharing = result.lines
    assert pacs.amount == Decimal("4200.00")  # 1 200 + 6 000 × 0,50 (not a progressive scale)
    assert pacs.volume_amount == Decimal("3000.00")
    assert sharing.amount == Decimal("1250.50")  # 500,50 + 6 000 × 0,125 = 750,00
    assert result.total == Decimal("5450.50")
    assert result.unpriced == ()


def test_it_rounds_each_line_half_up_to_the_cent() -> None:
    tariffs = {"pacs": OfferTariff("pacs", Decimal("0"), (Band(0, None, Decimal("0.005")),))}
    assert estimate(tariffs=tariffs, offer_codes=["pacs"], volume=1).total == Decimal("0.01")


def test_it_reports_offers_the_list_does_not_price() -> None:
    tariffs = {"pacs": OfferTariff("pacs", Decimal("10"), BANDS)}
    result = estimate(tariffs=tariffs, offer_codes=["pacs", "archive"], volume=10)
    assert result.unpriced == ("archive",)
    assert result.total == Decimal("20.00")


def test_it_refuses_a_volume_no_band_covers() -> None:
    with pytest.raises(PricingError):
        band_for((Band(0, 10, Decimal("1")),), 11)


def test_it_accepts_contiguous_bands_from_zero_to_infinity() -> None:
    assert band_errors(list(BANDS)) == []
    assert band_errors([Band(0, None, Decimal("0"))]) == []


@pytest.mark.parametrize(
    ("bands", "fragment"),
    [
        ([], "au moins une tranche"),
        ([Band(1, None, Decimal("1"))], "commencer à 0"),
        ([Band(0, 100, Decimal("1")), Band(100, None, Decimal("1"))], "chevauche"),
        ([Band(0, 100, Decimal("1")), Band(50, None, Decimal("1"))], "chevauche"),
        (
            [Band(0, 100, Decimal("1")), Band(200, None, Decimal("1"))],
            "Il manque une tranche entre 101 et 199",
        ),
        ([Band(0, 100, Decimal("1"))], "sans limite supérieure"),
        ([Band(0, None, Decimal("1")), Band(10, None, Decimal("1"))], "Seule la dernière"),
        (
            [Band(0, 5, Decimal("1")), Band(6, 3, Decimal("1")), Band(4, None, Decimal("1"))],
            "finit avant",
        ),
        ([Band(0, None, Decimal("-1"))], "négatif"),
    ],
)
def test_it_refuses_bands_that_do_not_cover_every_volume_once(bands, fragment) -> None:
    assert any(fragment in error for error in band_errors(bands)), band_errors(bands)
