from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Accès aux données patient")

    def ready(self) -> None:
        from access import home

        home.register()
