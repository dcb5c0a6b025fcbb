"""The PDF of a purchase order (WeasyPrint), and the fingerprints that tie it to its record.

Two documents exist per order: the "signed" one, generated when the director signs, and the
"countersigned" one, final, generated when a regional administrator countersigns. Both are
rendered from ``templates/billing/pdf/purchase_order.html``: A4, in French, with the parties,
the order number, the offers and prices, the totals, the signatures and, on every page, a
footer with "page N / M" and a fingerprint.

Why two hashes: a document cannot print its own SHA-256 (writing the hash into the file
changes the file). So the footer carries the SHA-256 of the order's *content*: a canonical
JSON of what the document states (parties, lines, amounts, signatures: who, when, from which
address), kept verbatim beside the file (``PurchaseOrderDocument.content_json``). The hash of
the *file* itself is recorded in ``PurchaseOrderDocument.sha256`` and in the ``Signature``
that the document carries. Anyone holding the PDF can recompute the file hash and compare it
with the record, and recompute the content hash from the stored JSON and compare it with the
footer; the countersigned content includes the hash of the file the director signed.

The files are PDF/A-3b (archival), which WeasyPrint produces natively.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.models import PurchaseOrder, PurchaseOrderDocument, PurchaseOrderLine, Signature
from billing.pricing import money

TEMPLATE = "billing/pdf/purchase_order.html"
PDF_VARIANT = "pdf/a-3b"


def issuer() -> dict[str, str]:
    """The countersigning party: the regional e-health group."""
    return {
        "name": getattr(settings, "BILLING_ISSUER_NAME", "GCS e-santé régional"),
        "address": getattr(settings, "BILLING_ISSUER_ADDRESS", "54000 Nancy"),
    }


@dataclass(frozen=True)
class SignatureData:
    """A signature as the document states it (the record is written once the file exists)."""

    role: str
    name: str
    email: str
    signed_at: datetime.datetime
    ip_address: str | None
    document_sha256: str = ""

    @classmethod
    def of(cls, signature: Signature) -> SignatureData:
        return cls(
            role=signature.role,
            name=signature.signer_name,
            email=signature.signer_email,
            signed_at=signature.signed_at,
            ip_address=signature.ip_address,
            document_sha256=signature.document_sha256,
        )

    @property
    def role_label(self) -> str:
        return str(Signature.Role(self.role).label)


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    sha256: str
    content_json: str
    content_sha256: str


def _amount(value: Decimal) -> str:
    return str(money(value))


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


def order_content(
    *,
    order: PurchaseOrder,
    lines: Sequence[PurchaseOrderLine],
    signatures: Sequence[SignatureData],
    kind: str,
) -> dict[str, Any]:
    """What the document states, as plain JSON-able data (the input of the content hash)."""
    establishment = order.establishment
    return {
        "document": kind,
        "number": order.number,
        "issuer": issuer(),
        "establishment": {
            "name": establishment.name,
            "finess_eg": establishment.finess_eg,
            "finess_ej": establishment.finess_ej,
            "siret": establishment.siret,
            "address": establishment.address,
            "postal_code": establishment.postal_code,
            "city": establishment.city,
        },
        "amends": order.amends.number if order.amends_id and order.amends else None,
        "start_date": order.start_date.isoformat(),
        "estimated_yearly_volume": order.estimated_yearly_volume,
        "price_list": {"id": order.price_list_id, "label": order.price_list.label},
        "currency": "EUR",
        "vat": "excluded",
        "lines": [
            {
                "offer": line.offer.code,
                "offer_name": line.offer.name,
                "annual_fee": _amount(line.annual_fee),
                "price_per_study": _amount(line.price_per_study),
                "estimated_volume": line.estimated_volume,
                "amount": _amount(line.amount),
            }
            for line in lines
        ],
        "total": _amount(sum((line.amount for line in lines), Decimal("0"))),
        "signatures": [
            {
                "role": signature.role,
                "name": signature.name,
                "email": signature.email,
                "signed_at": _utc(signature.signed_at),
                "ip_address": signature.ip_address,
                **(
                    {"document_sha256": signature.document_sha256}
                    if signature.document_sha256
                    else {}
                ),
            }
            for signature in signatures
        ],
    }


def canonical_json(data: dict[str, Any]) -> str:
    """One spelling per content: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_purchase_order(
    *,
    order: PurchaseOrder,
    lines: Sequence[PurchaseOrderLine],
    signatures: Sequence[SignatureData],
    kind: str,
) -> RenderedDocument:
    """Render the PDF of ``order`` as of ``signatures`` (director's, then the admin's)."""
    from weasyprint import HTML

    content = canonical_json(
        order_content(order=order, lines=lines, signatures=signatures, kind=kind)
    )
    content_sha256 = sha256_hex(content.encode("utf-8"))
    by_role = {signature.role: signature for signature in signatures}
    context = {
        "order": order,
        "establishment": order.establishment,
        "issuer": issuer(),
        "lines": lines,
        "total": money(sum((line.amount for line in lines), Decimal("0"))),
        "director_signature": by_role.get(Signature.Role.DIRECTOR),
        "admin_signature": by_role.get(Signature.Role.REGIONAL_ADMIN),
        "final": kind == PurchaseOrderDocument.Kind.COUNTERSIGNED,
        "content_sha256": content_sha256,
        "generated_at": timezone.now(),
    }
    with translation.override("fr"), timezone.override(settings.TIME_ZONE):
        html = render_to_string(TEMPLATE, context)
    pdf = HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT)
    return RenderedDocument(
        pdf=pdf, sha256=sha256_hex(pdf), content_json=content, content_sha256=content_sha256
    )
