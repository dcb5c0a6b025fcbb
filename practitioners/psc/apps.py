from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProSanteConnectConfig(AppConfig):
    """Installed so that allauth finds ``provider.py`` (its providers are Django apps)."""

    name = "practitioners.psc"
    label = "practitioners_psc"
    verbose_name = _("Pro Santé Connect")
