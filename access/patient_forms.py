"""Forms of the patient portal: activate with a code, give or revoke an access, oppose sharing.
They parse input; the rules are ``access.activation``'s and ``access.services``'s."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.activation import CODE_LENGTH, code_normalize
from access.sharing_forms import (
    COMMENT_MAX_LENGTH,
    DateInput,
    bound_last_day,
    default_last_day,
    end_of_day,
    last_day_field,
)
from practitioners.models import Practitioner


class ActivationForm(forms.Form):
    code = forms.CharField(
        label=_("Code d'accès"),
        max_length=32,
        help_text=_("Les 12 caractères imprimés sur la feuille remise par l'établissement."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
        error_messages={"required": _("Saisissez le code imprimé sur votre feuille.")},
    )
    birth_date = forms.DateField(
        label=_("Votre date de naissance"),
        widget=DateInput(attrs={"autocomplete": "bday"}),
        error_messages={
            "required": _("Saisissez votre date de naissance."),
            "invalid": _("Indiquez une date valide, par exemple 14/07/1962."),
        },
    )

    def clean_code(self) -> str:
        code = code_normalize(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH:
            raise forms.ValidationError(
                _("Le code compte %(count)d caractères (lettres et chiffres)."),
                params={"count": CODE_LENGTH},
            )
        return code

    def clean_birth_date(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["birth_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("La date de naissance ne peut pas être dans le futur."))
        return day


class PatientGrantForm(forms.Form):
    """Let a practitioner the patient chose see their imaging until a day."""

    practitioner = forms.ModelChoiceField(
        label=_("Professionnel"),
        queryset=Practitioner.objects.all(),
        widget=forms.HiddenInput,  # the page lists the search's results as radio buttons
        error_messages={
            "required": _("Choisissez le professionnel : cherchez-le par son nom ci-dessus."),
            "invalid_choice": _("Ce professionnel est introuvable : cherchez-le à nouveau."),
        },
    )
    last_day = last_day_field()
    comment = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Par exemple : « mon médecin traitant ». N'y écrivez rien de médical."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"last_day": default_last_day()})
        super().__init__(*args, **kwargs)
        bound_last_day(self.fields["last_day"])

    def valid_until(self) -> datetime.datetime:
        return end_of_day(self.cleaned_data["last_day"])


class ConfirmForm(forms.Form):
    """A choice the patient confirms after reading its effects (opposition, its withdrawal)."""

    confirm = forms.BooleanField(
        error_messages={"required": _("Cochez la case pour confirmer votre choix.")},
    )

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = label
