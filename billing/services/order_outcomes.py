"""Writes on signed purchase orders: countersignature, rejection, termination (at once or
when due) and the supersession of an order by its amendment."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import pdf
from billing.models import PurchaseOrder, PurchaseOrderDocument, PurchaseOrderEvent, Signature
from billing.permissions import can_countersign_order, can_terminate_order
from billing.selectors import establishment_has_active_order
from billing.services import notifications
from billing.services.orders import (
    format_day,
    lock_order,
    record_event,
    record_signature,
    signature_data,
    store_document,
    validate_amendment,
)
from establishments.models import Establishment
from establishments.services import establishment_set_status
from portal.roles import is_regional_admin

Status = PurchaseOrder.Status


@transaction.atomic
def purchase_order_countersign(
    *, order: PurchaseOrder, user: Any, ip_address: str | None
) -> PurchaseOrder:
    """A regional administrator countersigns: the final PDF carries both signatures, the
    order comes into force, the establishment becomes a member and, for an amendment, the
    order it amends is superseded from the amendment's start date.
    """
    order = lock_order(order)
    if order.status != Status.SIGNED:
        raise ValidationError(
            _("Ce bon de commande n'attend pas de contresignature (statut : %(status)s).")
            % {"status": order.get_status_display()},
            code="not_signed",
        )
    if not can_countersign_order(user, order):
        raise PermissionDenied(_("Seule l'administration régionale contresigne."))
    previous = lock_order(order.amends) if order.amends is not None else None
    if previous is not None:
        validate_amendment(
            amends=previous, establishment=order.establishment, start_date=order.start_date
        )
    now = timezone.now()
    signatures = [pdf.SignatureData.of(signature) for signature in order.signatures.all()]
    admin_signature = signature_data(user, Signature.Role.REGIONAL_ADMIN, now, ip_address)
    document = store_document(
        order,
        kind=PurchaseOrderDocument.Kind.COUNTERSIGNED,
        signatures=[*signatures, admin_signature],
    )
    order.status = Status.ACTIVE
    order.countersigned_at = now
    order.save(update_fields=["status", "countersigned_at", "updated_at"])
    record_signature(order, admin_signature, user, document)
    record_event(order, PurchaseOrderEvent.Kind.COUNTERSIGNED, by=user)
    if previous is not None:
        previous.status = Status.SUPERSEDED
        previous.superseded_at = now
        previous.end_date = order.start_date
        previous.save(update_fields=["status", "superseded_at", "end_date", "updated_at"])
        record_event(
            previous,
            PurchaseOrderEvent.Kind.SUPERSEDED,
            by=user,
            note=_("Remplacé par l'avenant %(number)s à compter du %(day)s")
            % {"number": order.number, "day": format_day(order.start_date)},
        )
    establishment_set_status(
        establishment=order.establishment, status=Establishment.Status.MEMBER, by=user
    )
    notifications.notify_order_countersigned(order)
    return order


@transaction.atomic
def purchase_order_reject(*, order: PurchaseOrder, user: Any, reason: str) -> PurchaseOrder:
    """A regional administrator refuses a signed order, saying why."""
    order = lock_order(order)
    if order.status != Status.SIGNED:
        raise ValidationError(
            _("Ce bon de commande n'attend pas de contresignature (statut : %(status)s).")
            % {"status": order.get_status_display()},
            code="not_signed",
        )
    if not is_regional_admin(user):
        raise PermissionDenied(_("Seule l'administration régionale refuse un bon de commande."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Indiquez le motif du refus.")]})
    order.status = Status.REJECTED
    order.rejected_at = timezone.now()
    order.rejection_reason = reason
    order.save(update_fields=["status", "rejected_at", "rejection_reason", "updated_at"])
    record_event(order, PurchaseOrderEvent.Kind.REJECTED, by=user, note=reason)
    notifications.notify_order_rejected(order)
    return order


def _apply_termination(order: PurchaseOrder, *, by: Any) -> None:
    """End ``order`` now; the establishment leaves the network with its last active order."""
    order.status = Status.TERMINATED
    order.terminated_at = timezone.now()
    order.save(update_fields=["status", "terminated_at", "updated_at"])
    record_event(order, PurchaseOrderEvent.Kind.TERMINATED, by=by)
    if not establishment_has_active_order(establishment=order.establishment, excluding=order):
        establishment_set_status(
            establishment=order.establishment, status=Establishment.Status.LEFT, by=by
        )


@transaction.atomic
def purchase_order_terminate(
    *,
    order: PurchaseOrder,
    user: Any,
    effective_date: datetime.date,
    reason: str,
    today: datetime.date | None = None,
) -> PurchaseOrder:
    """Terminate an order in force from ``effective_date`` (its first day without service).

    A date today or past takes effect at once; a later one is recorded and applied by
    ``purchase_orders_apply_due_terminations`` when it comes. By a regional administrator or
    a director of the establishment.
    """
    order = lock_order(order)
    if order.status != Status.ACTIVE or order.end_date is not None:
        raise ValidationError(
            _("Seul un bon de commande en vigueur, sans fin déjà programmée, peut être résilié."),
            code="not_active",
        )
    if not can_terminate_order(user, order):
        raise PermissionDenied
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Indiquez le motif de la résiliation.")]
    if effective_date < order.start_date:
        errors["effective_date"] = [
            _("La résiliation ne peut pas prendre effet avant le début du bon (%(day)s).")
            % {"day": format_day(order.start_date)}
        ]
    if errors:
        raise ValidationError(errors)
    order.end_date = effective_date
    order.termination_reason = reason
    order.termination_requested_at = timezone.now()
    order.save(
        update_fields=["end_date", "termination_reason", "termination_requested_at", "updated_at"]
    )
    record_event(
        order,
        PurchaseOrderEvent.Kind.TERMINATION_SCHEDULED,
        by=user,
        note=_("À compter du %(day)s : %(reason)s")
        % {"day": format_day(effective_date), "reason": reason},
    )
    effective = effective_date <= (today or timezone.localdate())
    if effective:
        _apply_termination(order, by=user)
    notifications.notify_order_termination(order, effective=effective)
    return order


def purchase_orders_apply_due_terminations(*, today: datetime.date) -> int:
    """Terminate the orders whose termination date has come; returns how many.

    Meant for a daily Celery beat task. Each order is handled in its own transaction, with its
    row locked and its state checked again, so running it twice, or twice at once, changes
    nothing more.
    """
    due = list(
        PurchaseOrder.objects.filter(
            status=Status.ACTIVE,
            end_date__isnull=False,
            end_date__lte=today,
            termination_requested_at__isnull=False,
        ).values_list("pk", flat=True)
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            order = PurchaseOrder.objects.select_for_update().get(pk=pk)
            if order.status != Status.ACTIVE or order.end_date is None or order.end_date > today:
                continue
            _apply_termination(order, by=None)
            notifications.notify_order_termination(order, effective=True)
            done += 1
    return done
