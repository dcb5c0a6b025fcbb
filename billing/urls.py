"""HTML pages of the billing app (French paths)."""

from django.urls import path

from billing.views import catalogue, orders

app_name = "billing"

urlpatterns = [
    path("offres/", catalogue.offer_list, name="offer-list"),
    path("offres/<int:pk>/", catalogue.offer_edit, name="offer-edit"),
    path("tarifs/", catalogue.price_list_list, name="price-list-list"),
    path("tarifs/nouvelle/", catalogue.price_list_create, name="price-list-create"),
    path("tarifs/<int:pk>/", catalogue.price_list_detail, name="price-list-detail"),
    path("tarifs/<int:pk>/modifier/", catalogue.price_list_edit, name="price-list-edit"),
    path("tarifs/<int:pk>/clore/", catalogue.price_list_close, name="price-list-close"),
    path("bons-de-commande/", orders.purchase_order_list, name="purchase-order-list"),
    path(
        "bons-de-commande/a-contresigner/",
        orders.purchase_order_queue,
        name="purchase-order-queue",
    ),
    path("bons-de-commande/nouveau/", orders.purchase_order_create, name="purchase-order-create"),
    path(
        "bons-de-commande/estimation/",
        orders.purchase_order_estimate,
        name="purchase-order-estimate",
    ),
    path("bons-de-commande/<int:pk>/", orders.purchase_order_detail, name="purchase-order-detail"),
    path(
        "bons-de-commande/<int:pk>/modifier/",
        orders.purchase_order_edit,
        name="purchase-order-edit",
    ),
    path(
        "bons-de-commande/<int:pk>/signer/", orders.purchase_order_sign, name="purchase-order-sign"
    ),
    path(
        "bons-de-commande/<int:pk>/contresigner/",
        orders.purchase_order_countersign,
        name="purchase-order-countersign",
    ),
    path(
        "bons-de-commande/<int:pk>/rejeter/",
        orders.purchase_order_reject,
        name="purchase-order-reject",
    ),
    path(
        "bons-de-commande/<int:pk>/resilier/",
        orders.purchase_order_terminate,
        name="purchase-order-terminate",
    ),
    path(
        "bons-de-commande/<int:pk>/avenant/",
        orders.purchase_order_amend,
        name="purchase-order-amend",
    ),
    path("bons-de-commande/<int:pk>/pdf/", orders.purchase_order_pdf, name="purchase-order-pdf"),
]
