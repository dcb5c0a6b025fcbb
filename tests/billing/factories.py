"""Billing objects built through the same services users trigger."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing import services
from billing.models import PriceList, PurchaseOrder
from billing.pricing import Band, OfferTariff
from establishments.models import Establishment

OFFERS = [("pacs", "PACS"), ("archive", "Archivage"), ("sharing", "Partage d'images")]

# pacs: 1 200 € + 0,50 €/study up to 9 999, 0,40 € from 10 000;
# archive: 800 € + 0,10 €/study; sharing: 500 € + 0,20 € up to 4 999, 0,15 € from 5 000.
DEFAULT_TARIFFS = [
    OfferTariff(
        "pacs",
        Decimal("1200.00"),
        (Band(0, 9999, Decimal("0.50")), Band(10000, None, Decimal("0.40"))),
    ),
    OfferTariff("archive", Decimal("800.00"), (Band(0, None, Decimal("0.10")),)),
    OfferTariff(
        "sharing",
        Decimal("500.00"),
        (Band(0, 4999, Decimal("0.20")), Band(5000, None, Decimal("0.15"))),
    ),
]


def make_price_list(
    *,
    label: str = "Tarifs 2020",
    valid_from: datetime.date = datetime.date(2020, 1, 1),
    valid_until: datetime.date | None = None,
    tariffs: list[OfferTariff] | None = None,
    created_by: Any = None,
) -> PriceList:
    return services.price_list_create(
        label=label,
        valid_from=valid_from,
        valid_until=valid_until,
        tariffs=DEFAULT_TARIFFS if tariffs is None else tariffs,
        created_by=created_by,
    )


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def make_draft(
    *,
    establishment: Establishment,
    director: Any,
    offer_codes: tuple[str, ...] = ("pacs", "sharing"),
    volume: int = 12000,
    start_date: datetime.date | None = None,
    amends: PurchaseOrder | None = None,
) -> PurchaseOrder:
    return services.purchase_order_create(
        establishment=establishment,
        offer_codes=list(offer_codes),
        estimated_yearly_volume=volume,
        start_date=start_date or in_days(30),
        created_by=director,
        amends=amends,
    )


def make_signed(*, establishment: Establishment, director: Any, **kwargs: Any) -> PurchaseOrder:
    order = make_draft(establishment=establishment, director=director, **kwargs)
    return services.purchase_order_sign(order=order, user=director, ip_address="192.0.2.10")


def make_active(
    *, establishment: Establishment, director: Any, admin: Any, **kwargs: Any
) -> PurchaseOrder:
    order = make_signed(establishment=establishment, director=director, **kwargs)
    return services.purchase_order_countersign(order=order, user=admin, ip_address="198.51.100.7")
