"""Forms of the practitioners app: the accreditation request, the reviewers' decisions, the
applicant's answer, the directory search.

The request form only shapes the input; the automatic checks (reference extract, names,
duplicates) live in ``practitioners.services.accreditation_request_check`` so that the API
runs exactly the same ones, and their errors are put back on the form's fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from establishments.models import Establishment
from practitioners.models import AccreditationRequest, IdentifierType, Profession, Specialty
from practitioners.selectors import member_establishments
from practitioners.services import AccreditationRequestData, CityPractice

POSTAL_CODE = forms.RegexField(
    regex=r"^\d{5}$",
    required=False,
    label=_("Code postal"),
    error_messages={"invalid": _("Le code postal doit comporter 5 chiffres.")},
    widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
)


class AccreditationRequestForm(forms.Form):
    identifier_type = forms.ChoiceField(
        label=_("Type d'identifiant"),
        choices=IdentifierType.choices,
        initial=IdentifierType.RPPS,
        widget=forms.RadioSelect,
    )
    identifier = forms.CharField(
        label=_("Numéro RPPS ou ADELI"),
        max_length=20,
        help_text=_("11 chiffres pour le RPPS, 9 chiffres pour l'ADELI."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    last_name = forms.CharField(
        label=_("Nom d'exercice"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    first_name = forms.CharField(
        label=_("Prénom d'exercice"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    profession_code = forms.ChoiceField(
        label=_("Profession"), choices=[("", _("— Choisissez —")), *Profession.choices]
    )
    specialty_code = forms.ChoiceField(
        label=_("Spécialité"),
        choices=[("", _("— Aucune —")), *Specialty.choices],
        required=False,
        help_text=_("Obligatoire pour un médecin."),
    )
    email = forms.EmailField(
        label=_("E-mail professionnel"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Téléphone professionnel"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    establishments = forms.ModelMultipleChoiceField(
        label=_("Établissements membres du réseau où vous exercez"),
        queryset=Establishment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Le référent de chaque établissement coché examinera votre demande."),
    )
    practice_name = forms.CharField(
        label=_("Nom du cabinet"),
        max_length=200,
        required=False,
        help_text=_("Si vous exercez en ville ; l'administration régionale examinera ce lieu."),
    )
    practice_address = forms.CharField(
        label=_("Adresse du cabinet"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    practice_postal_code = POSTAL_CODE
    practice_city = forms.CharField(label=_("Commune du cabinet"), max_length=100, required=False)
    purpose = forms.CharField(
        label=_("Objet de la demande"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Pourquoi avez-vous besoin d'accéder aux images de vos patients ?"),
    )

    # Service error keys -> form fields.
    ERROR_FIELDS = {"city_practices": "practice_name"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["establishments"].queryset = member_establishments()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        practice = [
            cleaned.get(name)
            for name in ("practice_address", "practice_postal_code", "practice_city")
        ]
        if any(practice) and not cleaned.get("practice_name"):
            self.add_error("practice_name", _("Donnez le nom de votre cabinet."))
        if cleaned.get("practice_name") and not cleaned.get("practice_city"):
            self.add_error("practice_city", _("Donnez la commune de votre cabinet."))
        return cleaned

    def data_for_service(self) -> AccreditationRequestData:
        cleaned = self.cleaned_data
        practices: tuple[CityPractice, ...] = ()
        if cleaned.get("practice_name"):
            practices = (
                CityPractice(
                    name=cleaned["practice_name"],
                    address=cleaned.get("practice_address", ""),
                    postal_code=cleaned.get("practice_postal_code", ""),
                    city=cleaned.get("practice_city", ""),
                ),
            )
        return AccreditationRequestData(
            identifier_type=cleaned["identifier_type"],
            identifier=cleaned["identifier"],
            last_name=cleaned["last_name"],
            first_name=cleaned["first_name"],
            profession_code=cleaned["profession_code"],
            specialty_code=cleaned.get("specialty_code", ""),
            email=cleaned["email"],
            phone=cleaned.get("phone", ""),
            purpose=cleaned["purpose"],
            establishment_ids=tuple(e.pk for e in cleaned.get("establishments", [])),
            city_practices=practices,
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the service's checks on the fields they concern."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.message_dict.items():
            name = self.ERROR_FIELDS.get(key, key)
            target = None if name == NON_FIELD_ERRORS or name not in self.fields else name
            for message in errors:
                self.add_error(target, message)


def request_initial(*, user: Any, prefill: dict[str, Any] | None) -> dict[str, Any]:
    """Initial values of the request form: the account's names and e-mail, overridden by what
    a Pro Santé Connect login said (identifier, names, codes, establishments, city practice)."""
    initial: dict[str, Any] = {
        "last_name": user.last_name,
        "first_name": user.first_name,
        "email": user.email,
    }
    if not prefill:
        return initial
    for key in (
        "identifier_type",
        "identifier",
        "last_name",
        "first_name",
        "profession_code",
        "specialty_code",
    ):
        if prefill.get(key):
            initial[key] = prefill[key]
    if prefill.get("establishment_ids"):
        initial["establishments"] = list(prefill["establishment_ids"])
    other_sites = prefill.get("other_sites") or []
    if other_sites and isinstance(other_sites[0], dict):
        initial["practice_name"] = other_sites[0].get("name", "")
        initial["practice_postal_code"] = other_sites[0].get("postal_code", "")
    return initial


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Le motif est obligatoire.")},
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du refus"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Le demandeur lira ce motif."),
        error_messages={"required": _("Le motif du refus est obligatoire.")},
    )


class AskInfoForm(forms.Form):
    message = forms.CharField(
        label=_("Complément demandé"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Le demandeur reçoit cette question par e-mail et y répond sur le portail."),
        error_messages={"required": _("Précisez le complément attendu.")},
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Votre réponse"),
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Votre réponse est vide.")},
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Commentaire"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Nom ou prénom"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    specialty = forms.ChoiceField(
        label=_("Spécialité"), required=False, choices=[("", _("Toutes")), *Specialty.choices]
    )
    establishment = forms.ModelChoiceField(
        label=_("Établissement"),
        required=False,
        queryset=Establishment.objects.none(),
        empty_label=_("Tous"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = member_establishments()  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {
            "query": self.cleaned_data.get("q") or "",
            "specialty": self.cleaned_data.get("specialty") or "",
            "establishment": self.cleaned_data.get("establishment"),
        }


class RequestStatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("Tous")), *AccreditationRequest.Status.choices],
    )
