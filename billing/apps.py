from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Facturation")

    def ready(self) -> None:
        from billing import home
        from portal.navigation import register_nav_item
        from portal.roles import Role

        register_nav_item(
            "billing:price-list-list", label=_("Tarifs"), roles=[Role.REGIONAL_ADMIN], order=60
        )
        # One entry for both roles: the page shows each role what it may see.
        register_nav_item(
            "billing:purchase-order-list",
            label=_("Bons de commande"),
            roles=[Role.REGIONAL_ADMIN, Role.DIRECTOR],
            order=61,
        )
        home.register()
