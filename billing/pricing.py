"""The pricing rule of purchase orders, as pure functions (no database).

Rule, for each offer an establishment orders::

    amount = annual fee + estimated yearly volume × per-study price of the band
             that contains that volume

One band prices the whole volume (it is not a progressive, slice-by-slice scale): with bands
0–4 999 at 0,40 € and 5 000 and more at 0,30 €, 6 000 studies cost 6 000 × 0,30 €.
The order's total is the sum of its offers' amounts. Amounts are in euros, excluding VAT
("HT": VAT is out of scope), rounded half-up to the cent at each line.

Bands of one offer in one price list start at 0, follow each other without gap or overlap
(each starts right after the previous one's upper bound, bounds inclusive) and the last one
has no upper bound, so that every volume has exactly one price.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from django.utils.translation import gettext as _

CENT = Decimal("0.01")


def money(value: Decimal | int) -> Decimal:
    """``value`` rounded half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Band:
    """Per-study price for yearly volumes from ``min_volume`` to ``max_volume`` included."""

    min_volume: int
    max_volume: int | None
    price_per_study: Decimal

    def contains(self, volume: int) -> bool:
        return self.min_volume <= volume and (self.max_volume is None or volume <= self.max_volume)


@dataclass(frozen=True)
class OfferTariff:
    """What one offer costs in one price list."""

    offer_code: str
    annual_fee: Decimal
    bands: tuple[Band, ...]
    offer_name: str = ""


@dataclass(frozen=True)
class LineEstimate:
    offer_code: str
    offer_name: str
    annual_fee: Decimal
    price_per_study: Decimal
    volume: int
    volume_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Estimate:
    lines: tuple[LineEstimate, ...]
    total: Decimal
    # Offers asked for that the price list does not price (the estimate leaves them out).
    unpriced: tuple[str, ...] = field(default=())


class PricingError(ValueError):
    """The price list cannot price this volume (bands that do not cover it)."""


def band_for(bands: Iterable[Band], volume: int) -> Band:
    """The band containing ``volume``."""
    for band in bands:
        if band.contains(volume):
            return band
    raise PricingError(
        _("Aucune tranche de prix ne couvre un volume de %(volume)s examens.") % {"volume": volume}
    )


def estimate_line(tariff: OfferTariff, volume: int) -> LineEstimate:
    """One offer's amount for ``volume`` studies a year."""
    band = band_for(tariff.bands, volume)
    volume_amount = money(band.price_per_study * volume)
    return LineEstimate(
        offer_code=tariff.offer_code,
        offer_name=tariff.offer_name,
        annual_fee=money(tariff.annual_fee),
        price_per_study=money(band.price_per_study),
        volume=volume,
        volume_amount=volume_amount,
        amount=money(tariff.annual_fee) + volume_amount,
    )


def estimate(
    *, tariffs: dict[str, OfferTariff], offer_codes: Sequence[str], volume: int
) -> Estimate:
    """The estimate of an order for ``offer_codes`` at ``volume`` studies a year."""
    lines = []
    unpriced = []
    for code in offer_codes:
        tariff = tariffs.get(code)
        if tariff is None:
            unpriced.append(code)
            continue
        lines.append(estimate_line(tariff, volume))
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return Estimate(lines=tuple(lines), total=money(total), unpriced=tuple(unpriced))


def band_errors(bands: Sequence[Band]) -> list[str]:
    """What is wrong with one offer's bands (empty list: they are valid)."""
    if not bands:
        return [_("Définissez au moins une tranche de volume.")]
    errors = []
    ordered = sorted(bands, key=lambda band: band.min_volume)
    for band in ordered:
        if band.max_volume is not None and band.max_volume < band.min_volume:
            errors.append(
                _("La tranche commençant à %(min)s finit avant de commencer.")
                % {"min": band.min_volume}
            )
        if band.price_per_study < 0:
            errors.append(_("Un prix par examen ne peut pas être négatif."))
    if ordered[0].min_volume != 0:
        errors.append(_("La première tranche doit commencer à 0 examen."))
    for previous, band in pairwise(ordered):
        if previous.max_volume is None:
            errors.append(_("Seule la dernière tranche peut être sans limite supérieure."))
            break
        expected = previous.max_volume + 1
        if band.min_volume < expected:
            errors.append(
                _(
                    "La tranche commençant à %(min)s chevauche la précédente "
                    "(qui va jusqu'à %(max)s)."
                )
                % {"min": band.min_volume, "max": previous.max_volume}
            )
        elif band.min_volume > expected:
            errors.append(
                _("Il manque une tranche entre %(start)s et %(end)s examens.")
                % {"start": expected, "end": band.min_volume - 1}
            )
    if ordered[-1].max_volume is not None:
        errors.append(
            _(
                "La dernière tranche doit être sans limite supérieure, "
                "pour que tout volume ait un prix."
            )
        )
    return errors
