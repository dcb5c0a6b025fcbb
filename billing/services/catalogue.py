"""Writes on offers and price lists (regional administrators only)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing import pricing
from billing.models import Offer, OfferPrice, PriceBand, PriceList
from billing.permissions import can_manage_catalogue
from billing.selectors import (
    price_list_is_locked,
    price_list_latest_signed_start,
    price_lists_overlapping,
)


def _check_manager(user: Any) -> None:
    # ``None`` is the system itself (data migrations, the demo seed).
    if user is not None and not can_manage_catalogue(user):
        raise PermissionDenied(_("Seule l'administration régionale gère les tarifs."))


def _format_day(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _period_errors(
    *, valid_from: datetime.date, valid_until: datetime.date | None, exclude_pk: int | None
) -> dict[str, list[str]]:
    if valid_until is not None and valid_until < valid_from:
        return {"valid_until": [_("La fin de validité précède son début.")]}
    clashes = list(
        price_lists_overlapping(
            valid_from=valid_from, valid_until=valid_until, exclude_pk=exclude_pk
        )
    )
    if not clashes:
        return {}
    return {
        "valid_from": [
            _("Cette période chevauche la grille « %(label)s » (du %(start)s %(end)s).")
            % {
                "label": clash.label,
                "start": _format_day(clash.valid_from),
                "end": (
                    _("au %(day)s") % {"day": _format_day(clash.valid_until)}
                    if clash.valid_until
                    else _("sans date de fin")
                ),
            }
            for clash in clashes
        ]
    }


def _tariff_errors(tariffs: Sequence[pricing.OfferTariff]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not tariffs:
        errors["__all__"] = [_("Tarifez au moins une offre (forfait annuel et tranches).")]
    known = set(Offer.objects.values_list("code", flat=True))
    seen: set[str] = set()
    for tariff in tariffs:
        code = tariff.offer_code
        if code not in known:
            errors.setdefault("__all__", []).append(
                _("Offre inconnue : %(code)s.") % {"code": code}
            )
            continue
        if code in seen:
            errors.setdefault("__all__", []).append(
                _("L'offre %(code)s est tarifée deux fois.") % {"code": code}
            )
        seen.add(code)
        if tariff.annual_fee < 0:
            errors.setdefault(f"fee_{code}", []).append(
                _("Le forfait annuel ne peut pas être négatif.")
            )
        band_problems = pricing.band_errors(tariff.bands)
        if band_problems:
            errors.setdefault(f"bands_{code}", []).extend(band_problems)
    return errors


def _validate(
    *,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    tariffs: Sequence[pricing.OfferTariff],
    exclude_pk: int | None,
) -> None:
    errors = _period_errors(valid_from=valid_from, valid_until=valid_until, exclude_pk=exclude_pk)
    errors.update(_tariff_errors(tariffs))
    if errors:
        raise ValidationError(errors)


def _write_tariffs(price_list: PriceList, tariffs: Sequence[pricing.OfferTariff]) -> None:
    offers = {offer.code: offer for offer in Offer.objects.all()}
    OfferPrice.objects.bulk_create(
        OfferPrice(
            price_list=price_list, offer=offers[tariff.offer_code], annual_fee=tariff.annual_fee
        )
        for tariff in tariffs
    )
    PriceBand.objects.bulk_create(
        PriceBand(
            price_list=price_list,
            offer=offers[tariff.offer_code],
            min_volume=band.min_volume,
            max_volume=band.max_volume,
            price_per_study=band.price_per_study,
        )
        for tariff in tariffs
        for band in tariff.bands
    )


def _overlap_error() -> ValidationError:
    return ValidationError(
        {"valid_from": [_("Cette période chevauche celle d'une autre grille tarifaire.")]}
    )


@transaction.atomic
def price_list_create(
    *,
    label: str,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    tariffs: Sequence[pricing.OfferTariff],
    created_by: Any,
) -> PriceList:
    """Create a price list version with its offers' annual fees and volume bands.

    Refuses a period that overlaps another list (also enforced by PostgreSQL, which catches
    two administrators saving at once) and bands that do not cover every volume exactly once.
    """
    _check_manager(created_by)
    _validate(valid_from=valid_from, valid_until=valid_until, tariffs=tariffs, exclude_pk=None)
    try:
        with transaction.atomic():
            price_list = PriceList.objects.create(
                label=label.strip(),
                valid_from=valid_from,
                valid_until=valid_until,
                created_by=created_by,
            )
    except IntegrityError as error:
        raise _overlap_error() from error
    _write_tariffs(price_list, tariffs)
    return price_list


@transaction.atomic
def price_list_update(
    *,
    price_list: PriceList,
    label: str,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    tariffs: Sequence[pricing.OfferTariff],
    by: Any,
) -> PriceList:
    """Replace a price list's period, fees and bands.

    Refused once a signed order references the list: what was signed must stay explainable
    by the list it names (orders also keep their own copy of the prices). The row is locked
    so that a director cannot sign on this list while it changes.
    """
    _check_manager(by)
    locked = PriceList.objects.select_for_update().get(pk=price_list.pk)
    if price_list_is_locked(price_list=locked):
        raise ValidationError(
            _(
                "Cette grille est utilisée par un bon de commande signé : elle ne peut plus "
                "être modifiée. Créez une nouvelle grille (vous pouvez clore celle-ci)."
            ),
            code="locked",
        )
    _validate(valid_from=valid_from, valid_until=valid_until, tariffs=tariffs, exclude_pk=locked.pk)
    locked.label = label.strip()
    locked.valid_from = valid_from
    locked.valid_until = valid_until
    try:
        with transaction.atomic():
            locked.save(update_fields=["label", "valid_from", "valid_until", "updated_at"])
    except IntegrityError as error:
        raise _overlap_error() from error
    locked.bands.all().delete()
    locked.offer_prices.all().delete()
    _write_tariffs(locked, tariffs)
    return locked


@transaction.atomic
def price_list_close(*, price_list: PriceList, valid_until: datetime.date, by: Any) -> PriceList:
    """Set the last day of a price list, even when signed orders use it.

    Closing changes no price, only which list new orders get; it is how a new version takes
    over from an open-ended one. It may not end before the start of an order it priced.
    """
    _check_manager(by)
    locked = PriceList.objects.select_for_update().get(pk=price_list.pk)
    if valid_until < locked.valid_from:
        raise ValidationError(
            {"valid_until": [_("La fin de validité précède son début.")]}, code="invalid"
        )
    latest_start = price_list_latest_signed_start(price_list=locked)
    if latest_start is not None and valid_until < latest_start:
        raise ValidationError(
            {
                "valid_until": [
                    _(
                        "Un bon de commande signé sur cette grille commence le %(day)s : "
                        "elle ne peut pas finir avant."
                    )
                    % {"day": _format_day(latest_start)}
                ]
            }
        )
    errors = _period_errors(
        valid_from=locked.valid_from, valid_until=valid_until, exclude_pk=locked.pk
    )
    if errors:
        raise ValidationError(errors)
    locked.valid_until = valid_until
    locked.save(update_fields=["valid_until", "updated_at"])
    return locked


@transaction.atomic
def offer_update(*, offer: Offer, name: str, description: str, active: bool, by: Any) -> Offer:
    """Rename, describe, withdraw or restore an offer (its code never changes)."""
    _check_manager(by)
    offer.name = name.strip()
    offer.description = description.strip()
    offer.active = active
    offer.save(update_fields=["name", "description", "active"])
    return offer
