"""The referent's form for the establishment's telephony directory."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from practitioners.directory_sync import configuration_errors
from practitioners.models import TelephonyDirectory
from practitioners.models.directory import DEFAULT_ATTRIBUTE_MAPPING, MAPPED_FACTS

DEFAULT_SEARCH_FILTER = "(objectClass=inetOrgPerson)"

_ATTRIBUTE_LABELS = {
    "rpps": _("Attribut du RPPS"),
    "email": _("Attribut de l'e-mail"),
    "phone": _("Attribut du poste"),
    "mobile": _("Attribut du mobile"),
    "department": _("Attribut du service"),
}


class TelephonyDirectoryForm(forms.Form):
    """Connection settings and attribute mapping. The password is never shown back."""

    url = forms.CharField(
        label=_("Adresse du serveur"),
        max_length=300,
        help_text=_(
            "ldaps://annuaire.exemple.fr (recommandé) ou ldap://…, avec le port si besoin."
        ),
    )
    bind_dn = forms.CharField(
        label=_("DN de connexion"),
        max_length=500,
        required=False,
        help_text=_("Le compte de lecture fourni par le service informatique ; vide : anonyme."),
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    base_dn = forms.CharField(
        label=_("DN de base"),
        max_length=500,
        help_text=_("Où chercher les personnes, par exemple ou=personnels,dc=exemple,dc=fr."),
    )
    search_filter = forms.CharField(
        label=_("Filtre de recherche"),
        max_length=500,
        initial=DEFAULT_SEARCH_FILTER,
        help_text=_("Filtre LDAP des personnes à lire, par exemple (objectClass=inetOrgPerson)."),
    )
    attribute_rpps = forms.CharField(
        label=_ATTRIBUTE_LABELS["rpps"], max_length=100, required=False
    )
    attribute_email = forms.CharField(
        label=_ATTRIBUTE_LABELS["email"], max_length=100, required=False
    )
    attribute_phone = forms.CharField(
        label=_ATTRIBUTE_LABELS["phone"], max_length=100, required=False
    )
    attribute_mobile = forms.CharField(
        label=_ATTRIBUTE_LABELS["mobile"], max_length=100, required=False
    )
    attribute_department = forms.CharField(
        label=_ATTRIBUTE_LABELS["department"], max_length=100, required=False
    )
    enabled = forms.BooleanField(
        label=_("Synchroniser automatiquement (chaque heure)"), required=False, initial=True
    )

    def __init__(self, *args: Any, directory: TelephonyDirectory | None = None, **kwargs: Any):
        if directory is not None and "initial" not in kwargs and not args:
            kwargs["initial"] = self.initial_for(directory)
        super().__init__(*args, **kwargs)
        password = self.fields["password"]
        if directory is not None and directory.bind_password_file:
            password.disabled = True
            password.help_text = _("Fourni par l'exploitant du portail (fichier sur le serveur).")
        elif directory is not None and directory.bind_password_encrypted:
            password.help_text = _(
                "Un mot de passe est enregistré ; laissez vide pour le conserver. Il faut le "
                "saisir à nouveau si l'adresse du serveur ou le DN de connexion change."
            )
        else:
            password.help_text = _("Obligatoire avec un DN de connexion.")
        for fact in MAPPED_FACTS:
            field = self.fields[f"attribute_{fact}"]
            field.help_text = _("Par défaut : %(name)s ; vide : non lu.") % {
                "name": DEFAULT_ATTRIBUTE_MAPPING[fact]
            }
            if directory is None and not self.is_bound:
                field.initial = DEFAULT_ATTRIBUTE_MAPPING[fact]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mapping = {fact: data.get(f"attribute_{fact}", "") for fact in MAPPED_FACTS}
        errors = configuration_errors(
            url=data.get("url", "").strip(),
            base_dn=data.get("base_dn", "").strip(),
            search_filter=data.get("search_filter", "").strip(),
            bind_dn=data.get("bind_dn", "").strip(),
            mapping=mapping,
        )
        for name, messages in errors.items():
            if name in data:  # a field already in error (e.g. left empty) keeps that error
                for message in messages:
                    self.add_error(name, message)
        return data

    @staticmethod
    def initial_for(directory: TelephonyDirectory) -> dict[str, Any]:
        mapping = directory.attribute_mapping or {}
        return {
            "url": directory.url,
            "bind_dn": directory.bind_dn,
            "base_dn": directory.base_dn,
            "search_filter": directory.search_filter,
            "enabled": directory.enabled,
            **{f"attribute_{fact}": mapping.get(fact, "") for fact in MAPPED_FACTS},
        }

    def connection_values(self) -> dict[str, Any]:
        """What the connection test needs (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            "url": data["url"],
            "bind_dn": data["bind_dn"],
            "password": data.get("password") or "",
            "base_dn": data["base_dn"],
            "search_filter": data["search_filter"],
        }

    def save_values(self) -> dict[str, Any]:
        """Keyword arguments of ``telephony_directory_save`` (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            **self.connection_values(),
            "attribute_mapping": {fact: data[f"attribute_{fact}"] for fact in MAPPED_FACTS},
            "enabled": data["enabled"],
        }
