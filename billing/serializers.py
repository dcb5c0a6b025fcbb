"""Read-only representations of the catalogue and purchase orders for the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import (
    Offer,
    OfferPrice,
    PriceBand,
    PriceList,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderLine,
    Signature,
)
from establishments.models import Establishment


class OfferSerializer(serializers.ModelSerializer[Offer]):
    class Meta:
        model = Offer
        fields = ("code", "name", "description", "active")


class OfferPriceSerializer(serializers.ModelSerializer[OfferPrice]):
    offer = serializers.CharField(source="offer.code")

    class Meta:
        model = OfferPrice
        fields = ("offer", "annual_fee")


class PriceBandSerializer(serializers.ModelSerializer[PriceBand]):
    offer = serializers.CharField(source="offer.code")

    class Meta:
        model = PriceBand
        fields = ("offer", "min_volume", "max_volume", "price_per_study")


class PriceListSerializer(serializers.ModelSerializer[PriceList]):
    offer_prices = OfferPriceSerializer(many=True, read_only=True)
    bands = PriceBandSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ("id", "label", "valid_from", "valid_until", "offer_prices", "bands")


class EstablishmentRefSerializer(serializers.ModelSerializer[Establishment]):
    class Meta:
        model = Establishment
        fields = ("id", "name", "finess_eg", "finess_ej")


class PurchaseOrderLineSerializer(serializers.ModelSerializer[PurchaseOrderLine]):
    offer = serializers.CharField(source="offer.code")
    offer_name = serializers.CharField(source="offer.name")

    class Meta:
        model = PurchaseOrderLine
        fields = (
            "offer",
            "offer_name",
            "annual_fee",
            "price_per_study",
            "estimated_volume",
            "amount",
        )


class SignatureSerializer(serializers.ModelSerializer[Signature]):
    class Meta:
        model = Signature
        fields = (
            "role",
            "signer_name",
            "signer_email",
            "signed_at",
            "ip_address",
            "document_sha256",
        )


class PurchaseOrderDocumentSerializer(serializers.ModelSerializer[PurchaseOrderDocument]):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = PurchaseOrderDocument
        fields = ("kind", "sha256", "content_sha256", "created_at", "download_url")

    @extend_schema_field(serializers.CharField())
    def get_download_url(self, document: PurchaseOrderDocument) -> str:
        version = "signe" if document.kind == PurchaseOrderDocument.Kind.SIGNED else "contresigne"
        url = reverse("billing:purchase-order-pdf", args=[document.order_id])
        return f"{url}?version={version}"


ORDER_FIELDS: tuple[str, ...] = (
    "id",
    "number",
    "status",
    "establishment",
    "estimated_yearly_volume",
    "start_date",
    "end_date",
    "price_list",
    "amends",
    "total_amount",
    "created_at",
    "signed_at",
    "countersigned_at",
    "rejected_at",
    "rejection_reason",
    "terminated_at",
    "termination_reason",
    "lines",
    "signatures",
)


class PurchaseOrderSerializer(serializers.ModelSerializer[PurchaseOrder]):
    establishment = EstablishmentRefSerializer(read_only=True)
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)
    signatures = SignatureSerializer(many=True, read_only=True)
    total_amount = serializers.SerializerMethodField()

    class Meta:
        model = PurchaseOrder
        fields: tuple[str, ...] = ORDER_FIELDS

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_total_amount(self, order: PurchaseOrder) -> Any:
        total: Decimal | None = getattr(order, "total_amount", None)
        if total is None:
            total = sum((line.amount for line in order.lines.all()), Decimal("0"))
        return serializers.DecimalField(max_digits=14, decimal_places=2).to_representation(total)


class PurchaseOrderDetailSerializer(PurchaseOrderSerializer):
    documents = PurchaseOrderDocumentSerializer(many=True, read_only=True)

    class Meta(PurchaseOrderSerializer.Meta):
        fields = (*ORDER_FIELDS, "documents")
