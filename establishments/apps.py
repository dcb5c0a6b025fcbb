from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EstablishmentsConfig(AppConfig):
    name = "establishments"
    verbose_name = _("Établissements")

    def ready(self) -> None:
        from establishments import home, roles

        roles.register()
        home.register()
