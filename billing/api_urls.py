"""REST endpoints of the billing app, mounted under /api/v1/."""

from django.urls import path

from billing import api

urlpatterns = [
    path("offers/", api.OfferListApi.as_view(), name="billing-api-offer-list"),
    path("price-lists/", api.PriceListListApi.as_view(), name="billing-api-price-list-list"),
    path(
        "purchase-orders/",
        api.PurchaseOrderListApi.as_view(),
        name="billing-api-purchase-order-list",
    ),
    path(
        "purchase-orders/<int:pk>/",
        api.PurchaseOrderDetailApi.as_view(),
        name="billing-api-purchase-order-detail",
    ),
]
