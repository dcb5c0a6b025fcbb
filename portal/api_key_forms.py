"""The form that creates an API key. It parses input; the rules (who may, how many, which
names) are ``portal.api_keys``'s, whose refusals the view puts back on it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from portal.api_key_models import NAME_MAX_LENGTH
from portal.api_keys import api_key_default_days, api_key_max_days


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Nom de la clé"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("Pour la reconnaître, par exemple « Script d'import du service »."),
        error_messages={
            "required": _("Donnez un nom à la clé, par exemple celui du script qui l'utilise."),
            "max_length": _("Le nom d'une clé tient en %(limit_value)d caractères au plus."),
        },
    )
    lifetime_days = forms.IntegerField(
        label=_("Durée de validité, en jours"),
        min_value=1,
        error_messages={
            "required": _("Indiquez la durée de validité de la clé, en jours."),
            "invalid": _("Indiquez un nombre entier de jours."),
            "min_value": _("Une clé dure au moins un jour."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bounds read per form: settings may change between tests and deployments.
        limit = api_key_max_days()
        field = self.fields["lifetime_days"]
        field.initial = api_key_default_days()
        field.validators.append(MaxValueValidator(limit))
        field.error_messages["max_value"] = _("Une clé dure au plus %(limit_value)d jours.")
        field.widget.attrs.update({"min": 1, "max": limit})
        field.help_text = _("Entre 1 et %(max)d jours. La clé cesse de fonctionner ensuite.") % {
            "max": limit
        }
