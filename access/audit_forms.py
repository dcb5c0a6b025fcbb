"""Forms of the auditors' screens: the review of an emergency access and the trail's filters.

The trail's patient filter is patient data: its form is posted, and what it resolves to is kept
in the session, never in a URL.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from access.models import BreakGlassAccess
from access.selectors import find_patients
from access.trail import (
    GRANTED,
    REFUSED,
    TrailCriteria,
    actor_by_email,
    establishment_choices,
    establishments_by_finess,
    with_merged_records,
)
from audit.models import Channel, Rule
from establishments.models import Establishment
from portal.identifiers import validate_finess, validate_ins

ALL = "all"


class ReviewStateForm(forms.Form):
    """The tab of the review queue (``?etat=``): pending accesses unless another is chosen."""

    etat = forms.ChoiceField(
        required=False,
        choices=[*BreakGlassAccess.Review.choices, (ALL, _("Tous"))],
    )

    def state(self) -> str:
        """The review state to list, or "" for all of them."""
        chosen = self.cleaned_data.get("etat") if self.is_valid() else ""
        if chosen == ALL:
            return ""
        return chosen or BreakGlassAccess.Review.PENDING

    def tab(self) -> str:
        chosen = self.cleaned_data.get("etat") if self.is_valid() else ""
        return chosen or BreakGlassAccess.Review.PENDING


class BreakGlassReviewForm(forms.Form):
    verdict = forms.ChoiceField(
        label=_("Cet accès d'urgence était-il justifié ?"),
        widget=forms.RadioSelect,
        choices=[
            (BreakGlassAccess.Review.JUSTIFIED, _("Justifié")),
            (BreakGlassAccess.Review.UNJUSTIFIED, _("Non justifié")),
        ],
        error_messages={"required": _("Indiquez si l'accès était justifié ou non.")},
    )
    comment = forms.CharField(
        label=_("Commentaire"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("Ce qui fonde votre décision ; il est conservé avec l'accès."),
        error_messages={"required": _("Expliquez votre décision en quelques mots.")},
    )

    @property
    def justified(self) -> bool:
        return bool(self.cleaned_data["verdict"] == BreakGlassAccess.Review.JUSTIFIED)


class _EstablishmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        assert isinstance(obj, Establishment)
        return f"{obj.name} ({obj.finess_eg})"


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TrailFilterForm(forms.Form):
    """The trail's filters. The patient fields start empty each time: the patient already
    chosen stays in force until the auditor removes it (the page says which one it is)."""

    ins = forms.CharField(
        label=_("INS du patient"),
        required=False,
        max_length=30,
        help_text=_("15 caractères, espaces permis."),
    )
    last_name = forms.CharField(label=_("Nom du patient"), required=False, max_length=150)
    first_name = forms.CharField(label=_("Prénom du patient"), required=False, max_length=150)
    birth_date = forms.DateField(
        label=_("Date de naissance du patient"), required=False, widget=_DateInput()
    )
    actor = forms.EmailField(
        label=_("Utilisateur (adresse e-mail)"), required=False, max_length=254
    )
    establishment = _EstablishmentChoice(
        label=_("Établissement producteur"),
        queryset=Establishment.objects.none(),
        required=False,
        empty_label=_("Tous"),
    )
    finess = forms.CharField(
        label=_("ou numéro FINESS"),
        required=False,
        max_length=9,
        help_text=_("FINESS géographique, ou juridique pour tous ses établissements."),
    )
    date_from = forms.DateField(label=_("Du"), required=False, widget=_DateInput())
    date_to = forms.DateField(label=_("Au"), required=False, widget=_DateInput())
    decision = forms.ChoiceField(
        label=_("Décision"),
        required=False,
        choices=[("", _("Toutes")), (GRANTED, _("Accordées")), (REFUSED, _("Refusées"))],
    )
    rule = forms.ChoiceField(
        label=_("Règle appliquée"), required=False, choices=[("", _("Toutes")), *Rule.choices]
    )
    channel = forms.ChoiceField(
        label=_("Canal"), required=False, choices=[("", _("Tous")), *Channel.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["establishment"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = establishment_choices()
        # Filled by ``clean``: the patients the search found, the establishments the FINESS
        # names.
        self.patient_candidates: list[int] = []
        self.finess_establishments: list[int] = []

    @classmethod
    def initial_from(cls, criteria: TrailCriteria) -> dict[str, Any]:
        """What the form shows for the criteria in force (the patient aside)."""
        initial: dict[str, Any] = {
            "actor": criteria.actor_email,
            "date_from": criteria.date_from,
            "date_to": criteria.date_to,
            "decision": criteria.decision,
            "rule": criteria.rule,
            "channel": criteria.channel,
        }
        if criteria.finess:
            initial["finess"] = criteria.finess
        elif len(criteria.establishment_ids) == 1:
            initial["establishment"] = criteria.establishment_ids[0]
        return initial

    def clean_ins(self) -> str:
        value = self.cleaned_data["ins"].strip()
        return validate_ins(value) if value else ""

    def clean_finess(self) -> str:
        value = "".join(self.cleaned_data["finess"].split())
        if value:
            validate_finess(value)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        by_name = data.get("last_name") or data.get("first_name") or data.get("birth_date")
        if data.get("ins") and by_name:
            raise ValidationError(
                _("Cherchez le patient par son INS, ou par son nom et sa date de naissance.")
            )
        if by_name and not (data.get("last_name") and data.get("birth_date")):
            self.add_error(
                "birth_date" if data.get("last_name") else "last_name",
                _(
                    "Pour chercher un patient par son nom, indiquez son nom et sa date "
                    "de naissance."
                ),
            )
        if data.get("establishment") and data.get("finess"):
            self.add_error(
                "finess",
                _("Choisissez l'établissement dans la liste ou par son FINESS, pas les deux."),
            )
        start, end = data.get("date_from"), data.get("date_to")
        if isinstance(start, datetime.date) and isinstance(end, datetime.date) and start > end:
            self.add_error("date_to", _("La fin de la période précède son début."))
        if not self.errors:
            self._resolve(data)
        return data

    def _resolve(self, data: dict[str, Any]) -> None:
        if data.get("ins") or data.get("last_name"):
            found = find_patients(
                ins=data.get("ins") or "",
                last_name=data.get("last_name") or "",
                first_name=data.get("first_name") or "",
                birth_date=data.get("birth_date"),
            )
            if not found:
                self.add_error(
                    "ins" if data.get("ins") else "last_name",
                    _("Aucun patient ne correspond à cette recherche."),
                )
            self.patient_candidates = [patient.pk for patient in found]
        if data.get("finess"):
            named = establishments_by_finess(finess=data["finess"])
            if not named:
                self.add_error("finess", _("Aucun établissement du réseau n'a ce numéro FINESS."))
            self.finess_establishments = [establishment.pk for establishment in named]

    def criteria(self, *, current: TrailCriteria) -> TrailCriteria:
        """The criteria the form asks for. The patient stays ``current``'s unless the search
        found exactly one (several: the auditor chooses next)."""
        data = self.cleaned_data
        patient_ids = current.patient_ids
        if len(self.patient_candidates) == 1:
            patient_ids = with_merged_records(self.patient_candidates)
        email = (data.get("actor") or "").strip().lower()
        actor = actor_by_email(email=email) if email else None
        finess = ""
        if data.get("establishment") is not None:
            establishment_ids: tuple[int, ...] = (data["establishment"].pk,)
        else:
            establishment_ids = tuple(self.finess_establishments)
            finess = (data.get("finess") or "") if establishment_ids else ""
        return TrailCriteria(
            patient_ids=patient_ids,
            actor_email=email,
            actor_id=actor.pk if actor else None,
            establishment_ids=establishment_ids,
            finess=finess,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            decision=data.get("decision") or "",
            rule=data.get("rule") or "",
            channel=data.get("channel") or "",
        )


class PatientChoiceForm(forms.Form):
    """Several patients answer the search: the auditor picks one, or all of them."""

    patient = forms.ChoiceField(
        label=_("Patient"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez un patient.")},
    )

    def __init__(self, *args: Any, candidates: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(str(pk), str(pk)) for pk in candidates] + [(ALL, ALL)]
        self.candidates = candidates

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.candidates:
            raise ValidationError(
                _("Aucun choix de patient n'est en attente : cherchez le patient.")
            )
        return data

    def chosen(self) -> tuple[int, ...]:
        value = self.cleaned_data["patient"]
        return tuple(self.candidates) if value == ALL else (int(value),)
