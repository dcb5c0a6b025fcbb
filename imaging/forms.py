"""Forms of the imaging pages (French labels, validated input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from imaging.models import validate_viewer_url
from imaging.services import CALLBACK_PASSWORD_MIN_LENGTH
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
    callback_username = forms.CharField(
        label=_("Utilisateur de l'archive auprès du portail"),
        max_length=150,
        required=False,
        help_text=_(
            "Le « WebServiceUsername » du greffon d'autorisation de l'archive, qui demande au "
            "portail s'il peut servir chaque image. Laissez vide si l'archive n'interroge pas "
            "le portail."
        ),
    )
    callback_password = forms.CharField(
        label=_("Mot de passe de l'archive auprès du portail"),
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    viewer_url = forms.CharField(
        label=_("Adresse de la visionneuse"),
        max_length=500,
        required=False,
        validators=[validate_viewer_url],
        help_text=_(
            "Par exemple https://pacs.exemple.fr/ohif/viewer?StudyInstanceUIDs="
            "{study_instance_uid}&token={token} : le portail remplace {study_instance_uid} "
            "par l'examen ouvert et {token} par un jeton de visionneuse à usage limité."
        ),
    )

    ARCHIVE_FIELDS = ("base_url", "username", "password", "enabled")
    PORTAL_FIELDS = ("callback_username", "callback_password", "viewer_url")

    def __init__(
        self,
        *args: Any,
        has_password: bool = False,
        has_callback_password: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.has_password = has_password
        self.has_callback_password = has_callback_password
        if has_password:
            self.fields["password"].help_text = _(
                "Un mot de passe est enregistré ; laissez vide pour le conserver."
            )
        if has_callback_password:
            self.fields["callback_password"].help_text = _(
                "Un mot de passe est enregistré (seule son empreinte est gardée) ; laissez vide "
                "pour le conserver."
            )
        else:
            self.fields["callback_password"].help_text = _(
                "Le « WebServicePassword », d'au moins %(count)s caractères. Le portail n'en "
                "garde qu'une empreinte."
            ) % {"count": CALLBACK_PASSWORD_MIN_LENGTH}

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

    def archive_fields(self) -> list[forms.BoundField]:
        """How the portal reads the archive (first fieldset of the page)."""
        return [self[name] for name in self.ARCHIVE_FIELDS]

    def portal_fields(self) -> list[forms.BoundField]:
        """How the archive asks the portal, and its viewer (second fieldset)."""
        return [self[name] for name in self.PORTAL_FIELDS]

    def connection_valid(self) -> bool:
        """Whether what "Tester la connexion" needs (address, user, password) is valid,
        whatever the rest of the form holds."""
        self.is_valid()
        return not any(name in self.errors for name in ("base_url", "username", "password"))

    def clean_callback_password(self) -> str:
        value: str = self.cleaned_data.get("callback_password") or ""
        if value and len(value) < CALLBACK_PASSWORD_MIN_LENGTH:
            raise forms.ValidationError(
                _("Le mot de passe de l'archive doit compter au moins %(count)s caractères.")
                % {"count": CALLBACK_PASSWORD_MIN_LENGTH}
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = (data.get("callback_username") or "").strip()
        password = data.get("callback_password") or ""
        if password and not username:
            self.add_error(
                "callback_username", _("Indiquez l'utilisateur qui accompagne ce mot de passe.")
            )
        elif username and not password and not self.has_callback_password:
            self.add_error(
                "callback_password",
                _("Le mot de passe de l'archive auprès du portail est obligatoire."),
            )
        return data


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
