from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Traçabilité")

    def ready(self) -> None:
        from portal.home import register_home_panel
        from portal.roles import Role

        register_home_panel(
            "audit.auditor", role=Role.AUDITOR, template="audit/home/auditor.html", order=20
        )
