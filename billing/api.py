"""REST endpoints of the billing app: read-only catalogue and purchase orders."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import BasePermission, IsAuthenticated

from billing.models import PurchaseOrder, PurchaseOrderLine
from billing.permissions import can_list_orders, can_read_catalogue
from billing.selectors import (
    offers_all,
    price_lists_with_prices,
    purchase_order_for,
    purchase_orders_filtered,
)
from billing.serializers import (
    OfferSerializer,
    PriceListSerializer,
    PurchaseOrderDetailSerializer,
    PurchaseOrderSerializer,
)


class ReadsCatalogue(BasePermission):
    """Signed-in people working in or for the network (not patients)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return can_read_catalogue(request.user)


class ListsOrders(BasePermission):
    """Regional administrators and directors."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return can_list_orders(request.user)


@extend_schema(tags=["facturation"], summary="Offres de la plateforme")
class OfferListApi(generics.ListAPIView[Any]):
    serializer_class = OfferSerializer
    permission_classes = [IsAuthenticated, ReadsCatalogue]
    pagination_class = None

    def get_queryset(self) -> QuerySet[Any]:
        return offers_all()


@extend_schema(tags=["facturation"], summary="Grilles tarifaires (forfaits et tranches)")
class PriceListListApi(generics.ListAPIView[Any]):
    serializer_class = PriceListSerializer
    permission_classes = [IsAuthenticated, ReadsCatalogue]

    def get_queryset(self) -> QuerySet[Any]:
        return price_lists_with_prices()


def _with_details(queryset: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
    return queryset.prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("offer")),
        "signatures",
    )


@extend_schema(
    tags=["facturation"],
    summary="Bons de commande",
    description=(
        "Tous les bons pour l'administration régionale ; ceux des établissements qu'elle "
        "dirige pour une direction ; 403 pour les autres."
    ),
    parameters=[
        OpenApiParameter(
            "status",
            OpenApiTypes.STR,
            enum=PurchaseOrder.Status.values,
            description="Filtrer par statut",
        ),
        OpenApiParameter(
            "establishment", OpenApiTypes.INT, description="Filtrer par établissement"
        ),
    ],
)
class PurchaseOrderListApi(generics.ListAPIView[Any]):
    serializer_class = PurchaseOrderSerializer
    permission_classes = [IsAuthenticated, ListsOrders]

    def get_queryset(self) -> QuerySet[Any]:
        status = self.request.query_params.get("status", "")
        establishment = self.request.query_params.get("establishment", "")
        return _with_details(
            purchase_orders_filtered(
                user=self.request.user,
                status=status if status in PurchaseOrder.Status.values else "",
                establishment_id=int(establishment) if establishment.isdigit() else None,
            )
        )


@extend_schema(
    tags=["facturation"],
    summary="Un bon de commande, ses lignes, signatures et documents",
    description="Réservé aux parties (direction de l'établissement, administration régionale) : "
    "404 pour les autres.",
)
class PurchaseOrderDetailApi(generics.RetrieveAPIView[Any]):
    serializer_class = PurchaseOrderDetailSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self) -> PurchaseOrder:
        order = purchase_order_for(user=self.request.user, pk=int(self.kwargs["pk"]))
        if order is None:
            raise Http404
        return order
