"""Forms of the imaging pages (French labels, validated input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_finess


class ArchiveSourceForm(forms.Form):
    """An establishment's Orthanc archive. On an existing archive an empty password keeps the
    stored one, which is never shown back."""

    base_url = forms.URLField(
        label=_("Adresse de l'archive Orthanc"),
        max_length=300,
        assume_scheme="https",
        help_text=_("L'adresse de l'API REST Orthanc, par exemple https://pacs.exemple.fr/orthanc"),
    )
    username = forms.CharField(label=_("Utilisateur Orthanc"), max_length=150)
    password = forms.CharField(
        label=_("Mot de passe Orthanc"),
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    enabled = forms.BooleanField(label=_("Synchronisation active"), required=False, initial=True)

    def __init__(self, *args: Any, has_password: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_password = has_password
        if has_password:
            self.fields["password"].help_text = _(
                "Un mot de passe est enregistré ; laissez vide pour le conserver."
            )

    def clean_base_url(self) -> str:
        value: str = self.cleaned_data["base_url"]
        if not value.startswith(("http://", "https://")):
            raise forms.ValidationError(_("Indiquez une adresse http:// ou https://."))
        return value.rstrip("/")

    def clean_password(self) -> str:
        value: str = self.cleaned_data.get("password") or ""
        if not value and not self.has_password:
            raise forms.ValidationError(_("Le mot de passe est obligatoire."))
        return value


class IdentitySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Identifiant local (PatientID) ou nom"),
        max_length=128,
        min_length=2,
        required=False,
    )


class PatientLinkForm(forms.Form):
    """Names the other establishment's record exactly: no browsing of other establishments."""

    finess_eg = forms.CharField(
        label=_("FINESS géographique de l'autre établissement"), max_length=9
    )
    patient_id = forms.CharField(
        label=_("Identifiant local (PatientID) dans cet établissement"), max_length=128
    )
    reason = forms.CharField(
        label=_("Motif du rapprochement"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )

    def clean_finess_eg(self) -> str:
        return validate_finess(self.cleaned_data["finess_eg"])


class PatientUnlinkForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de la séparation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
