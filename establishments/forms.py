"""Forms of the establishments pages: validation and French messages, no writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from establishments.models import (
    DirectorApplication,
    Establishment,
    FinessEntry,
    Invitation,
    proof_max_bytes,
    validate_proof,
)
from establishments.selectors import finess_entry_for, has_open_application
from establishments.services import (
    ADMIN_STATUS_TRANSITIONS,
    DUPLICATE_APPLICATION_MESSAGE,
    closed_finess_error,
)
from portal.identifiers import validate_finess, validate_siret
from portal.models import User

Kind = Establishment.Kind

_postal_code = RegexValidator(
    r"^[0-9]{5}$", _("Le code postal doit comporter 5 chiffres."), code="invalid_postal_code"
)

# FINESS categories whose kind is certain; anything else is left for the applicant to choose.
_KIND_OF_FINESS_CATEGORY = {
    "101": Kind.UNIVERSITY_HOSPITAL,  # Centre hospitalier régional
    "106": Kind.GENERAL_HOSPITAL,  # Centre hospitalier, ex-hôpital local
    "355": Kind.GENERAL_HOSPITAL,  # Centre hospitalier
    "131": Kind.CANCER_CENTRE,  # Centre de lutte contre le cancer
}


def _with_blank(choices: list[tuple[str, Any]], label: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class EstablishmentFilterForm(forms.Form):
    """Search and filters of the regional administrators' list (GET)."""

    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        max_length=100,
        help_text=_("Nom, numéro FINESS ou commune."),
    )
    status = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=_with_blank(Establishment.Status.choices, _("Tous les statuts")),
    )
    kind = forms.ChoiceField(
        label=_("Catégorie"),
        required=False,
        choices=_with_blank(Kind.choices, _("Toutes les catégories")),
    )
    department = forms.CharField(label=_("Département"), required=False, max_length=3)

    def filters(self) -> dict[str, str]:
        """The cleaned filters, empty strings for anything invalid or absent."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "query": data.get("q", "").strip(),
            "status": data.get("status", ""),
            "kind": data.get("kind", ""),
            "department": data.get("department", "").strip(),
        }


class EstablishmentStatusForm(forms.Form):
    """A regional administrator suspends, reinstates or records a departure, with a reason."""

    status = forms.ChoiceField(label=_("Nouveau statut"))
    reason = forms.CharField(
        label=_("Motif"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Conservé dans l'historique de l'établissement."),
        error_messages={"required": _("Indiquez le motif de ce changement de statut.")},
    )

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        targets = ADMIN_STATUS_TRANSITIONS.get(establishment.status, ())
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(value, Establishment.Status(value).label) for value in targets]

    @property
    def has_choices(self) -> bool:
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        return bool(field.choices)


def initial_from_finess_entry(entry: FinessEntry) -> dict[str, str]:
    """The declaration form filled from a FINESS reference entry the applicant picked."""
    return {
        "finess_eg": entry.finess,
        "finess_ej": entry.finess_ej,
        "siret": entry.siret,
        "name": entry.name[:200],
        "kind": _KIND_OF_FINESS_CATEGORY.get(entry.category_code, ""),
        "address": entry.address,
        "postal_code": entry.postal_code,
        "city": entry.city,
        "finess_entry": entry.finess,
    }


class DirectorApplicationForm(forms.Form):
    """A director declares their establishment: its identity, their function, a proof."""

    ESTABLISHMENT_FIELDS = (
        "finess_eg",
        "finess_ej",
        "siret",
        "name",
        "kind",
        "address",
        "postal_code",
        "city",
    )
    APPLICANT_FIELDS = ("function", "proof")

    finess_eg = forms.CharField(
        label=_("FINESS géographique"),
        max_length=12,
        help_text=_("9 caractères, le numéro de l'établissement (site) lui-même."),
    )
    finess_ej = forms.CharField(
        label=_("FINESS juridique"),
        max_length=12,
        required=False,
        help_text=_("Facultatif : le numéro de l'entité juridique."),
    )
    siret = forms.CharField(
        label=_("SIRET"), max_length=20, required=False, help_text=_("Facultatif : 14 chiffres.")
    )
    name = forms.CharField(label=_("Nom de l'établissement"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Catégorie"), choices=_with_blank(Kind.choices, _("Choisissez une catégorie"))
    )
    address = forms.CharField(label=_("Adresse"), max_length=300, required=False)
    postal_code = forms.CharField(label=_("Code postal"), max_length=5, validators=[_postal_code])
    city = forms.CharField(label=_("Commune"), max_length=100)
    finess_entry = forms.CharField(required=False, widget=forms.HiddenInput)
    function = forms.CharField(
        label=_("Votre fonction"),
        max_length=200,
        help_text=_("Par exemple : Directeur général, Directrice déléguée."),
    )
    proof = forms.FileField(
        label=_("Justificatif de fonction"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["proof"].help_text = _(
            "Arrêté de nomination, délégation de signature… PDF, PNG ou JPEG, %(limit)s au plus."
        ) % {"limit": filesizeformat(proof_max_bytes())}

    def establishment_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ESTABLISHMENT_FIELDS]

    def applicant_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.APPLICANT_FIELDS]

    def clean_finess_eg(self) -> str:
        finess = validate_finess(self.cleaned_data["finess_eg"])
        closed = closed_finess_error(finess_eg=finess)
        if closed is not None:
            raise closed
        if has_open_application(user=self.user, finess_eg=finess):
            raise ValidationError(DUPLICATE_APPLICATION_MESSAGE, code="duplicate")
        return finess

    def clean_finess_ej(self) -> str:
        value: str = self.cleaned_data["finess_ej"]
        return validate_finess(value) if value.strip() else ""

    def clean_siret(self) -> str:
        value: str = self.cleaned_data["siret"]
        return validate_siret(value) if value.strip() else ""

    def clean_finess_entry(self) -> FinessEntry | None:
        value: str = self.cleaned_data["finess_entry"].strip()
        return finess_entry_for(finess=value) if value else None

    def clean_proof(self) -> Any:
        proof = self.cleaned_data["proof"]
        validate_proof(proof)
        return proof


class ApplicationRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du refus"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Il est envoyé au demandeur par e-mail."),
        error_messages={
            "required": _("Indiquez le motif du refus : il est transmis au demandeur.")
        },
    )


class ApplicationStatusFilterForm(forms.Form):
    statut = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[
            (DirectorApplication.Status.SUBMITTED.value, _("En attente d'examen")),
            (DirectorApplication.Status.APPROVED.value, _("Approuvées")),
            (DirectorApplication.Status.REJECTED.value, _("Refusées")),
            (DirectorApplication.Status.WITHDRAWN.value, _("Retirées")),
            ("toutes", _("Toutes")),
        ],
    )

    def status(self) -> str:
        """The status to list: submitted by default, "" for all."""
        value = self.cleaned_data.get("statut") if self.is_valid() else ""
        if value == "toutes":
            return ""
        return value or DirectorApplication.Status.SUBMITTED.value


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail de la personne invitée"))
    role = forms.ChoiceField(label=_("Rôle"), choices=Invitation.Role.choices)
