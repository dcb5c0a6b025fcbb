"""Forms of the access app's pages. They only shape the input: the rules (who may search,
open an emergency access, how long a justification must be) live in ``access.services`` and
``access.decision``, whose refusals are put back on the fields."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from access.models import BreakGlassAccess
from portal.identifiers import validate_ins

# --- Practitioner screens ------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# Identity typed by the practitioner: the browser must not remember it.
_NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false"}


class PatientSearchForm(forms.Form):
    """An exact search: the INS alone, or the last name with the birth date (and the first
    name to narrow it)."""

    ins = forms.CharField(
        label=_("INS du patient"),
        required=False,
        max_length=32,
        help_text=_("Les 15 caractères du matricule INS ; les espaces sont acceptés."),
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
    )
    last_name = forms.CharField(
        label=_("Nom"),
        required=False,
        max_length=150,
        help_text=_("Le nom exact, tel qu'il figure dans le dossier d'imagerie."),
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
    )
    first_name = forms.CharField(
        label=_("Prénom (facultatif)"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
    )
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": _("Saisissez la date de naissance au format jj/mm/aaaa.")},
        widget=DateInput(attrs={"autocomplete": "off"}),
    )

    def clean_ins(self) -> str:
        value = self.cleaned_data["ins"].strip()
        return validate_ins(value) if value else ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors or data.get("ins"):
            return data
        last_name = data.get("last_name", "").strip()
        birth_date: datetime.date | None = data.get("birth_date")
        if not last_name and birth_date is None:
            raise ValidationError(
                _("Saisissez l'INS du patient, ou son nom et sa date de naissance.")
            )
        if not last_name:
            self.add_error("last_name", _("Avec la date de naissance, saisissez le nom."))
        if birth_date is None:
            self.add_error("birth_date", _("Avec le nom, saisissez la date de naissance."))
        elif birth_date > timezone.localdate():
            self.add_error("birth_date", _("La date de naissance ne peut pas être à venir."))
        return data


class BreakGlassForm(forms.Form):
    """The emergency and its justification; the second factor is asked for separately."""

    category = forms.ChoiceField(
        label=_("Type d'urgence"),
        choices=BreakGlassAccess.Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez le type d'urgence.")},
    )
    justification = forms.CharField(
        label=_("Justification"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Décrivez l'urgence qui justifie cet accès.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        minimum = settings.BREAK_GLASS_JUSTIFICATION_MIN_LENGTH
        self.fields["justification"].help_text = ngettext_lazy(
            "La situation clinique qui impose cet accès, en %(minimum)d caractère au moins.",
            "La situation clinique qui impose cet accès, en %(minimum)d caractères au moins.",
            "minimum",
        ) % {"minimum": minimum}

    def add_service_errors(self, error: ValidationError) -> None:
        """Show ``access.services.break_glass_open``'s refusals next to their fields."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)
