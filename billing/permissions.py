"""Who may do what with offers, price lists and purchase orders.

Views and the API ask these functions and never decide themselves. Directors act only for the
establishments they direct now (``establishments.selectors.is_director_of``); regional
administrators act for the whole network. Parties to an order are its establishment's
directors and the regional administrators: nobody else learns that the order exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from billing.models import PurchaseOrder
from establishments.selectors import is_director_of
from portal.roles import Role, has_role, has_second_factor, is_regional_admin

if TYPE_CHECKING:
    from portal.models import User

# Roles that may read the catalogue (offers, price lists) through the API: everyone who works
# in or for the network, not patients.
CATALOGUE_READERS = (
    Role.REGIONAL_ADMIN,
    Role.AUDITOR,
    Role.DIRECTOR,
    Role.REFERENT,
    Role.PRACTITIONER,
)


def can_manage_catalogue(user: Any) -> bool:
    """Only regional administrators edit offers and price lists."""
    return is_regional_admin(user)


def can_read_catalogue(user: Any) -> bool:
    return has_role(user, *CATALOGUE_READERS)


def can_list_orders(user: Any) -> bool:
    """Regional administrators (every order) and directors (their establishments')."""
    return has_role(user, Role.REGIONAL_ADMIN, Role.DIRECTOR)


def can_build_orders(user: Any) -> bool:
    """Directors build orders for the establishments they direct."""
    return has_role(user, Role.DIRECTOR)


def is_order_director(user: Any, order: PurchaseOrder) -> bool:
    """Whether ``user`` directs the establishment of ``order`` now (its signatory)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_director_of(user=cast("User", user), establishment=order.establishment)


def can_view_order(user: Any, order: PurchaseOrder) -> bool:
    """Parties only: regional administrators and the establishment's directors."""
    return is_regional_admin(user) or is_order_director(user, order)


def can_edit_order(user: Any, order: PurchaseOrder) -> bool:
    return order.status == PurchaseOrder.Status.DRAFT and is_order_director(user, order)


def can_sign_order(user: Any, order: PurchaseOrder) -> bool:
    return order.status == PurchaseOrder.Status.DRAFT and is_order_director(user, order)


def can_countersign_order(user: Any, order: PurchaseOrder) -> bool:
    return order.status == PurchaseOrder.Status.SIGNED and is_regional_admin(user)


can_reject_order = can_countersign_order


def can_terminate_order(user: Any, order: PurchaseOrder) -> bool:
    """An order in force whose end is not set yet; by a regional admin or its director."""
    return (
        order.status == PurchaseOrder.Status.ACTIVE
        and order.end_date is None
        and (is_regional_admin(user) or is_order_director(user, order))
    )


def can_amend_order(user: Any, order: PurchaseOrder) -> bool:
    """Directors replace an order in force (and not ending) by an amendment."""
    return (
        order.status == PurchaseOrder.Status.ACTIVE
        and order.end_date is None
        and is_order_director(user, order)
    )


def has_signature_second_factor(user: Any) -> bool:
    """Signing commits the establishment: it needs a second factor (``portal.roles``)."""
    return has_second_factor(user)
