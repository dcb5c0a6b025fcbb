"""Writes of the billing app: the catalogue (offers, price lists) and purchase orders."""

from billing.services.catalogue import (
    offer_update,
    price_list_close,
    price_list_create,
    price_list_update,
)
from billing.services.order_outcomes import (
    purchase_order_countersign,
    purchase_order_reject,
    purchase_order_terminate,
    purchase_orders_apply_due_terminations,
)
from billing.services.orders import (
    order_number_next,
    purchase_order_create,
    purchase_order_sign,
    purchase_order_update,
)

__all__ = [
    "offer_update",
    "order_number_next",
    "price_list_close",
    "price_list_create",
    "price_list_update",
    "purchase_order_countersign",
    "purchase_order_create",
    "purchase_order_reject",
    "purchase_order_sign",
    "purchase_order_terminate",
    "purchase_order_update",
    "purchase_orders_apply_due_terminations",
]
