from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Pilotage et rapports")

    def ready(self) -> None:
        from reporting import home, report_home

        home.register()
        report_home.register()
