from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portail")

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from portal.home import register_home_panel
        from portal.navigation import register_nav_item

        register_home_panel("portal.no_role", role=None, template="portal/home/no_role.html")
        register_nav_item("home", label=_("Accueil"), order=0)
