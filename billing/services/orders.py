"""Writes on purchase orders: drafts and the director's signature (what follows the
signature is in order_outcomes.py; the helpers both share are here).

Each step locks the order's row first, so that two clicks or two people acting at once find
the order in the state the other one left it (signing twice is refused, not done twice).
Services check the signer's role themselves; the *session* conditions of a signature (recent
re-authentication, second factor) are the views' business.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import pdf
from billing.models import (
    Offer,
    OrderNumberCounter,
    PriceList,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Signature,
)
from billing.permissions import can_edit_order, can_sign_order
from billing.selectors import OrderQuote, order_quote, price_list_valid_on
from billing.services import notifications
from establishments.models import Establishment
from establishments.selectors import is_director_of

Status = PurchaseOrder.Status

NUMBER_FORMAT = "BC-{year}-{number:04d}"


def order_number_next(*, year: int) -> str:
    """The next order number of ``year``, e.g. "BC-2026-0001".

    Call inside the transaction that records the signature: the counter row stays locked
    until it commits, so concurrent signatures wait for each other and a rolled-back
    signature gives its number back. Numbers are therefore gapless and never shared.
    """
    OrderNumberCounter.objects.get_or_create(year=year)
    counter = OrderNumberCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return NUMBER_FORMAT.format(year=year, number=counter.last_number)


def lock_order(order: PurchaseOrder) -> PurchaseOrder:
    """The order's row, re-read and locked until the transaction ends."""
    return PurchaseOrder.objects.select_for_update().get(pk=order.pk)


def record_event(order: PurchaseOrder, kind: str, *, by: Any = None, note: str = "") -> None:
    """Append a step to the order's history."""
    PurchaseOrderEvent.objects.create(order=order, kind=kind, by=by, note=note)


def format_day(day: datetime.date) -> str:
    """A date as French messages write it."""
    return day.strftime("%d/%m/%Y")


def _offer_codes(offer_codes: Sequence[str]) -> list[str]:
    codes = list(dict.fromkeys(offer_codes))
    if not codes:
        raise ValidationError({"offers": [_("Choisissez au moins une offre.")]})
    known = set(Offer.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(
            {"offers": [_("Offre inconnue : %(codes)s.") % {"codes": ", ".join(unknown)}]}
        )
    return codes


def _validate_volume(volume: int) -> None:
    if volume < 1:
        raise ValidationError(
            {
                "estimated_yearly_volume": [
                    _("Le volume annuel estimé doit être d'au moins 1 examen.")
                ]
            }
        )


def _quote(order: PurchaseOrder, offer_codes: Sequence[str]) -> OrderQuote:
    """Price the order with the list in force on its start date, or say why it cannot be."""
    quote = order_quote(
        offer_codes=list(offer_codes),
        volume=order.estimated_yearly_volume,
        start_date=order.start_date,
    )
    if not quote.ok:
        raise ValidationError({"start_date": [quote.error]})
    assert quote.price_list is not None
    order.price_list = quote.price_list
    return quote


def _replace_lines(order: PurchaseOrder, quote: OrderQuote) -> None:
    assert quote.estimate is not None
    offers = {offer.code: offer for offer in Offer.objects.all()}
    order.lines.all().delete()
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            order=order,
            offer=offers[line.offer_code],
            annual_fee=line.annual_fee,
            price_per_study=line.price_per_study,
            estimated_volume=line.volume,
            amount=line.amount,
        )
        for line in quote.estimate.lines
    )


def validate_amendment(
    *, amends: PurchaseOrder, establishment: Establishment, start_date: datetime.date
) -> None:
    """An amendment replaces an order in force, without set end, of the same establishment,
    from a later start date."""
    if amends.establishment_id != establishment.pk:
        raise ValidationError(_("Un avenant porte sur un bon du même établissement."))
    if amends.status != Status.ACTIVE or amends.end_date is not None:
        raise ValidationError(
            _("Seul un bon de commande en vigueur, sans fin programmée, peut recevoir un avenant.")
        )
    if start_date <= amends.start_date:
        raise ValidationError(
            {
                "start_date": [
                    _("L'avenant doit commencer après le bon qu'il modifie (%(day)s).")
                    % {"day": format_day(amends.start_date)}
                ]
            }
        )


@transaction.atomic
def purchase_order_create(
    *,
    establishment: Establishment,
    offer_codes: Sequence[str],
    estimated_yearly_volume: int,
    start_date: datetime.date,
    created_by: Any,
    amends: PurchaseOrder | None = None,
) -> PurchaseOrder:
    """A draft order of ``establishment`` for ``offer_codes``, priced with the list in force
    on ``start_date``. Only a director of the establishment may build it. With ``amends``,
    the draft is an amendment that will replace that order (in force) from its start date.
    """
    if not is_director_of(user=created_by, establishment=establishment):
        raise PermissionDenied(
            _("Seule la direction de l'établissement prépare ses bons de commande.")
        )
    codes = _offer_codes(offer_codes)
    _validate_volume(estimated_yearly_volume)
    if amends is not None:
        validate_amendment(amends=amends, establishment=establishment, start_date=start_date)
    order = PurchaseOrder(
        establishment=establishment,
        estimated_yearly_volume=estimated_yearly_volume,
        start_date=start_date,
        created_by=created_by,
        amends=amends,
    )
    quote = _quote(order, codes)
    order.save()
    _replace_lines(order, quote)
    note = _("Avenant au bon %(number)s") % {"number": amends.number} if amends else ""
    record_event(order, PurchaseOrderEvent.Kind.CREATED, by=created_by, note=note)
    return order


@transaction.atomic
def purchase_order_update(
    *,
    order: PurchaseOrder,
    offer_codes: Sequence[str],
    estimated_yearly_volume: int,
    start_date: datetime.date,
    by: Any,
) -> PurchaseOrder:
    """Change a draft's offers, volume or start date; its lines are priced again."""
    order = lock_order(order)
    if order.status != Status.DRAFT:
        raise ValidationError(_("Seul un brouillon peut être modifié."), code="not_draft")
    if not can_edit_order(by, order):
        raise PermissionDenied
    codes = _offer_codes(offer_codes)
    _validate_volume(estimated_yearly_volume)
    if order.amends is not None:
        validate_amendment(
            amends=order.amends, establishment=order.establishment, start_date=start_date
        )
    order.estimated_yearly_volume = estimated_yearly_volume
    order.start_date = start_date
    quote = _quote(order, codes)
    order.save(update_fields=["estimated_yearly_volume", "start_date", "price_list", "updated_at"])
    _replace_lines(order, quote)
    record_event(order, PurchaseOrderEvent.Kind.UPDATED, by=by)
    return order


def signature_data(
    user: Any, role: str, at: datetime.datetime, ip: str | None
) -> pdf.SignatureData:
    """A signature as the PDF will state it (the record is written once the file exists)."""
    return pdf.SignatureData(
        role=role,
        name=user.get_full_name() or user.email,
        email=user.email,
        signed_at=at,
        ip_address=ip or None,
    )


def store_document(
    order: PurchaseOrder, *, kind: str, signatures: Sequence[pdf.SignatureData]
) -> PurchaseOrderDocument:
    """Render the order's PDF and keep it, with its hashes, in the private storage."""
    lines = list(order.lines.select_related("offer").order_by("offer__position", "offer__code"))
    rendered = pdf.render_purchase_order(order=order, lines=lines, signatures=signatures, kind=kind)
    document = PurchaseOrderDocument(
        order=order,
        kind=kind,
        sha256=rendered.sha256,
        content_json=rendered.content_json,
        content_sha256=rendered.content_sha256,
    )
    suffix = "signe" if kind == PurchaseOrderDocument.Kind.SIGNED else "contresigne"
    # The storage never overwrites: an existing name gets a suffix of its own.
    document.file.save(f"{order.number}-{suffix}.pdf", ContentFile(rendered.pdf), save=False)
    document.save()
    return document


def record_signature(
    order: PurchaseOrder, data: pdf.SignatureData, user: Any, document: PurchaseOrderDocument
) -> Signature:
    """Write the signature record, with the SHA-256 of the document it signed."""
    return Signature.objects.create(
        order=order,
        role=data.role,
        user=user,
        signer_name=data.name,
        signer_email=data.email,
        signed_at=data.signed_at,
        ip_address=data.ip_address,
        document_sha256=document.sha256,
    )


@transaction.atomic
def purchase_order_sign(
    *, order: PurchaseOrder, user: Any, ip_address: str | None
) -> PurchaseOrder:
    """The director signs: prices are frozen from the list in force on the start date, the
    order gets its number, the signed PDF is generated and stored, and the signature is
    recorded with the signer's address and the PDF's SHA-256. All or nothing.
    """
    order = lock_order(order)
    if order.status != Status.DRAFT:
        raise ValidationError(
            _("Ce bon de commande est déjà signé (%(number)s) : il ne peut pas l'être deux fois.")
            % {"number": order.number},
            code="already_signed",
        )
    if not can_sign_order(user, order):
        raise PermissionDenied(
            _("Seule la direction de l'établissement signe ses bons de commande.")
        )
    if order.amends is not None:
        validate_amendment(
            amends=order.amends, establishment=order.establishment, start_date=order.start_date
        )
    codes = list(order.lines.values_list("offer__code", flat=True))
    # Lock the list before reading its prices: an administrator editing it at this moment
    # finishes first (and we read the new prices) or waits and then finds it used.
    in_force = price_list_valid_on(day=order.start_date)
    if in_force is not None:
        PriceList.objects.select_for_update().filter(pk=in_force.pk).exists()
    quote = _quote(order, codes)
    if in_force is None or quote.price_list != in_force:
        raise ValidationError(
            _("Les tarifs viennent de changer : vérifiez le bon puis signez à nouveau.")
        )
    _replace_lines(order, quote)
    now = timezone.now()
    order.number = order_number_next(year=timezone.localdate(now).year)
    order.signed_at = now
    order.status = Status.SIGNED
    signature = signature_data(user, Signature.Role.DIRECTOR, now, ip_address)
    document = store_document(order, kind=PurchaseOrderDocument.Kind.SIGNED, signatures=[signature])
    order.save(update_fields=["number", "signed_at", "status", "price_list", "updated_at"])
    record_signature(order, signature, user, document)
    record_event(order, PurchaseOrderEvent.Kind.SIGNED, by=user, note=order.number or "")
    notifications.notify_order_signed(order)
    return order
