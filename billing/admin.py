"""Technical administration of billing: the catalogue is readable, orders are read-only.

Prices and orders change only through the portal's pages (their services check periods,
bands, roles and signatures); the admin site is for looking, not for bypassing those rules.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from billing.models import (
    Offer,
    OfferPrice,
    PriceBand,
    PriceList,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Signature,
)


class ReadOnlyMixin:
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active", "position")
    readonly_fields = ("code",)


class OfferPriceInline(ReadOnlyMixin, admin.TabularInline):
    model = OfferPrice


class PriceBandInline(ReadOnlyMixin, admin.TabularInline):
    model = PriceBand


@admin.register(PriceList)
class PriceListAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("label", "valid_from", "valid_until", "created_by", "created_at")
    inlines = (OfferPriceInline, PriceBandInline)


class LineInline(ReadOnlyMixin, admin.TabularInline):
    model = PurchaseOrderLine


class SignatureInline(ReadOnlyMixin, admin.TabularInline):
    model = Signature


class DocumentInline(ReadOnlyMixin, admin.TabularInline):
    model = PurchaseOrderDocument
    exclude = ("content_json",)


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = PurchaseOrderEvent


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "establishment", "status", "start_date", "end_date", "signed_at")
    list_filter = ("status",)
    search_fields = ("number", "establishment__name", "establishment__finess_eg")
    list_select_related = ("establishment",)
    inlines = (LineInline, SignatureInline, DocumentInline, EventInline)
