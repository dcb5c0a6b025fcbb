"""The demo region's price list and signed purchase orders.

The three founders subscribe to sharing; CH de Remiremont (December 2015) to PACS and
archiving. Orders are signed by each establishment's demo director and countersigned by the
regional administrator, through the same services as the screens (PDFs included).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from billing.models import PriceList, PurchaseOrder
from billing.pricing import Band, OfferTariff
from billing.services import (
    price_list_create,
    purchase_order_countersign,
    purchase_order_create,
    purchase_order_sign,
)
from establishments.demo import establishment
from portal.demo import seed_step
from portal.models import User

TARIFFS = [
    OfferTariff(
        "pacs",
        Decimal("12000.00"),
        (Band(0, 49999, Decimal("0.80")), Band(50000, None, Decimal("0.60"))),
    ),
    OfferTariff(
        "archive",
        Decimal("6000.00"),
        (Band(0, 99999, Decimal("0.20")), Band(100000, None, Decimal("0.12"))),
    ),
    OfferTariff(
        "sharing",
        Decimal("4000.00"),
        (Band(0, 99999, Decimal("0.10")), Band(100000, None, Decimal("0.06"))),
    ),
]

# establishment slug, offers, estimated yearly volume, start date
ORDERS = [
    ("chru-nancy", ("sharing",), 420_000, datetime.date(2025, 1, 1)),
    ("icl", ("sharing",), 95_000, datetime.date(2025, 1, 1)),
    ("chr-metz-thionville", ("sharing",), 310_000, datetime.date(2025, 1, 1)),
    ("ch-remiremont", ("pacs", "archive"), 38_000, datetime.date(2015, 12, 1)),
]

DEMO_IP = "127.0.0.1"


@seed_step(order=60)
def seed_purchase_orders(log: Callable[[str], None]) -> None:
    admin = User.objects.get(email="admin@ars.demo")
    if not PriceList.objects.exists():
        price_list_create(
            label="Grille régionale",
            valid_from=datetime.date(2015, 1, 1),
            valid_until=None,
            tariffs=TARIFFS,
            created_by=admin,
        )
    for slug, offers, volume, start in ORDERS:
        place = establishment(slug)
        if PurchaseOrder.objects.filter(establishment=place).exists():
            continue
        director = User.objects.get(email=f"directeur@{slug}.demo")
        order = purchase_order_create(
            establishment=place,
            offer_codes=offers,
            estimated_yearly_volume=volume,
            start_date=start,
            created_by=director,
        )
        order = purchase_order_sign(order=order, user=director, ip_address=DEMO_IP)
        purchase_order_countersign(order=order, user=admin, ip_address=DEMO_IP)
    log(f"bons de commande en vigueur : {len(ORDERS)}")
