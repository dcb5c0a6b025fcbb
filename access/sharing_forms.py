"""Forms of the staff sharing screens: share a patient with a practitioner, revoke a grant,
record or withdraw the patient's opposition. They parse input; the rules (who may, how long,
whom) are ``access.services``'s, whose refusals the views put back on these forms."""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.models import AccessGrant
from establishments.models import Establishment
from practitioners.models import Practitioner

COMMENT_MAX_LENGTH = 2000
DEFAULT_GRANT_MONTHS = 3


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def months_later(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or that month's last day (31 January → 30 April)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def last_day_allowed() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS)


def default_last_day() -> datetime.date:
    return min(months_later(timezone.localdate(), DEFAULT_GRANT_MONTHS), last_day_allowed())


def end_of_day(day: datetime.date) -> datetime.datetime:
    """When an access "until ``day``" ends: the following midnight, local time; on the last day
    allowed, no later than ``ACCESS_GRANT_MAX_DAYS`` from now. A day beyond it is left as it is,
    for the service to refuse."""
    end = timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    )
    if day <= last_day_allowed():
        end = min(end, timezone.now() + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS))
    return end


def last_day_field() -> forms.DateField:
    """The last day of an access, as staff and patients give it."""
    return forms.DateField(
        label=_("Accès jusqu'au (inclus)"),
        widget=DateInput(),
        error_messages={
            "required": _("Indiquez le dernier jour de l'accès."),
            "invalid": _("Indiquez une date valide, par exemple 31/12/2026."),
        },
    )


def bound_last_day(field: forms.Field) -> None:
    """Today's bounds on a ``last_day_field`` (set per request: the form outlives the day)."""
    field.widget.attrs.update(
        {"min": timezone.localdate().isoformat(), "max": last_day_allowed().isoformat()}
    )
    field.help_text = _(
        "L'accès prend fin à minuit le soir de ce jour. Il dure au plus %(days)d jours."
    ) % {"days": settings.ACCESS_GRANT_MAX_DAYS}


class GrantForm(forms.Form):
    """Share the patient with an accredited practitioner, on an establishment's behalf."""

    practitioner = forms.ModelChoiceField(
        label=_("Professionnel"),
        queryset=Practitioner.objects.all(),
        # The page lists the search's results as radio buttons itself: this field's own
        # widget would list every practitioner of the region.
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choisissez le professionnel : cherchez-le par son nom ci-dessus."),
            "invalid_choice": _("Ce professionnel est introuvable : cherchez-le à nouveau."),
        },
    )
    reason = forms.ChoiceField(
        label=_("Motif du partage"),
        # A patient's own choice is given on the patient portal.
        choices=[
            (reason.value, reason.label)
            for reason in (AccessGrant.Reason.REFERRAL, AccessGrant.Reason.CARE_TEAM_EXTENSION)
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez le motif du partage."),
            "invalid_choice": _("Choisissez le motif du partage."),
        },
    )
    last_day = last_day_field()
    establishment = forms.TypedChoiceField(
        label=_("Au nom de l'établissement"),
        coerce=int,
        error_messages={
            "required": _("Choisissez l'établissement au nom duquel vous partagez."),
            "invalid_choice": _("Choisissez l'établissement au nom duquel vous partagez."),
        },
    )
    comment = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Visible des équipes qui gèrent le partage. N'y écrivez rien de médical."),
    )

    def __init__(self, *args: Any, establishments: list[Establishment], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "reason": AccessGrant.Reason.REFERRAL.value,
                "last_day": default_last_day(),
            },
        )
        super().__init__(*args, **kwargs)
        self.establishments = {establishment.pk: establishment for establishment in establishments}
        if len(establishments) > 1:
            field = self.fields["establishment"]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [("", _("Choisissez…"))] + [
                (establishment.pk, establishment.name) for establishment in establishments
            ]
        else:
            # Acting for one establishment only: the service takes it.
            del self.fields["establishment"]
        bound_last_day(self.fields["last_day"])

    def chosen_establishment(self) -> Establishment | None:
        pk = self.cleaned_data.get("establishment")
        return self.establishments.get(pk) if pk is not None else None

    def valid_until(self) -> datetime.datetime:
        return end_of_day(self.cleaned_data["last_day"])


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de la révocation (facultatif)"),
        required=False,
        max_length=500,
    )


class OppositionForm(forms.Form):
    """Record the patient's opposition, at their request, or withdraw it."""

    comment = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Par exemple : comment le patient a exprimé sa demande."),
    )
    confirm = forms.BooleanField(
        error_messages={"required": _("Cochez la case pour confirmer la demande du patient.")},
    )

    def __init__(self, *args: Any, confirm_label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = confirm_label


def opposition_record_form(data: Any = None) -> OppositionForm:
    return OppositionForm(
        data,
        prefix="opposition",
        confirm_label=gettext(
            "Le patient demande l'opposition au partage et je lui en ai expliqué les effets."
        ),
    )


def opposition_withdraw_form(data: Any = None) -> OppositionForm:
    return OppositionForm(
        data,
        prefix="retrait",
        confirm_label=gettext("Le patient demande le retrait de son opposition."),
    )
