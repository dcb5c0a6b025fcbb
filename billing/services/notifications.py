"""E-mails about purchase orders, queued on commit (portal.mail)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from billing.models import PurchaseOrder
from billing.selectors import establishment_director_emails, regional_admin_emails
from portal.mail import send_portal_email


def _context(order: PurchaseOrder, **extra: Any) -> dict[str, Any]:
    return {
        "order": order,
        "establishment": order.establishment,
        "path": reverse("billing:purchase-order-detail", args=[order.pk]),
        **extra,
    }


def _to_directors(order: PurchaseOrder, *, subject: str, template: str, **extra: Any) -> None:
    recipients = establishment_director_emails(establishment=order.establishment)
    if recipients:
        send_portal_email(
            to=recipients,
            subject=subject,
            template=f"emails/billing/{template}.txt",
            context=_context(order, **extra),
        )


def notify_order_signed(order: PurchaseOrder) -> None:
    """Regional administrators have an order to countersign; directors get a receipt."""
    admins = regional_admin_emails()
    if admins:
        send_portal_email(
            to=admins,
            subject=_("Bon de commande %(number)s à contresigner") % {"number": order.number},
            template="emails/billing/order_awaiting_countersignature.txt",
            context=_context(order),
        )
    _to_directors(
        order,
        subject=_("Bon de commande %(number)s signé") % {"number": order.number},
        template="order_signed",
    )


def notify_order_countersigned(order: PurchaseOrder) -> None:
    _to_directors(
        order,
        subject=_("Bon de commande %(number)s contresigné : il est en vigueur")
        % {"number": order.number},
        template="order_countersigned",
    )


def notify_order_rejected(order: PurchaseOrder) -> None:
    _to_directors(
        order,
        subject=_("Bon de commande %(number)s refusé") % {"number": order.number},
        template="order_rejected",
    )


def notify_order_termination(order: PurchaseOrder, *, effective: bool) -> None:
    """Tell directors that the order ends (``effective``: it has ended now)."""
    _to_directors(
        order,
        subject=(
            _("Bon de commande %(number)s résilié")
            if effective
            else _("Résiliation programmée du bon de commande %(number)s")
        )
        % {"number": order.number},
        template="order_terminated",
        effective=effective,
    )
