from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PractitionersConfig(AppConfig):
    name = "practitioners"
    verbose_name = _("Professionnels de santé")

    def ready(self) -> None:
        from portal.navigation import register_nav_item
        from portal.roles import Role
        from practitioners import home, roles

        roles.register()
        home.register()
        register_nav_item(
            "practitioners:my_accreditation",
            label=_("Mon habilitation"),
            roles=[Role.PRACTITIONER],
            order=50,
        )
        register_nav_item(
            "practitioners:request_list",
            label=_("Demandes d'habilitation"),
            roles=[Role.REFERENT, Role.REGIONAL_ADMIN],
            order=51,
        )
        register_nav_item(
            "practitioners:directory",
            label=_("Annuaire"),
            roles=[Role.PRACTITIONER, Role.REFERENT, Role.REGIONAL_ADMIN],
            order=52,
        )
