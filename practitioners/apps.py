from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PractitionersConfig(AppConfig):
    name = "practitioners"
    verbose_name = _("Professionnels de santé")

    def ready(self) -> None:
        from practitioners import home, roles

        roles.register()
        home.register()
