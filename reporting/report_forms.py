"""Forms of the indicator and report pages. They parse and check input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.forms import DateInput, MoneyField
from reporting.indicators import indicator_code_problem
from reporting.models import Indicator
from reporting.periods import Period, PeriodError, period_parse

PERIOD_HELP = _(
    "Par exemple 2026-Q3 (trimestre), 2026-S1, 2026-10 (mois), 2026 ou 2026-01-01..2026-03-31."
)


def decimal_field(label: Any, *, required: bool = True, help_text: Any = "") -> MoneyField:
    """A decimal as people type it: "1 500,5" or "1500.50"."""
    return MoneyField(
        label=label,
        required=required,
        max_digits=14,
        decimal_places=2,
        localize=True,
        help_text=help_text,
    )


class PeriodField(forms.CharField):
    """A reporting period as written in reports (``reporting.periods``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Période"))
        kwargs.setdefault("help_text", PERIOD_HELP)
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Period:
        text = super().clean(value)
        try:
            return period_parse(text)
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from error


class IndicatorForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("Tel que l'écrit le programme (par exemple RCO14) ; unique."),
    )
    label = forms.CharField(label=_("Libellé"), max_length=300)
    unit = forms.CharField(
        label=_("Unité"),
        max_length=50,
        help_text=_("Par exemple : établissements, utilisateurs, %, euros."),
    )
    programme = forms.CharField(label=_("Programme"), max_length=100, initial="FEDER 2021-2027")
    computation = forms.ChoiceField(label=_("Calcul"), choices=Indicator.Computation.choices)
    baseline = decimal_field(_("Valeur de référence"))
    target = decimal_field(_("Cible"))
    target_date = forms.DateField(
        label=_("Échéance de la cible"), required=False, widget=DateInput()
    )
    method_note = forms.CharField(
        label=_("Note de méthode"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Reprise telle quelle dans les notes de méthode du rapport."),
    )
    position = forms.IntegerField(
        label=_("Ordre dans le rapport"), min_value=0, max_value=32767, initial=0
    )
    active = forms.BooleanField(
        label=_("Suivi (figure dans les rapports)"), required=False, initial=True
    )

    def __init__(self, *args: Any, indicator: Indicator | None = None, **kwargs: Any) -> None:
        if indicator is not None:
            kwargs["initial"] = {name: getattr(indicator, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.indicator = indicator

    def clean_code(self) -> str:
        # Checked here too, so that a taken code is told with the other mistakes at once.
        code = self.cleaned_data["code"].strip()
        problem = indicator_code_problem(
            code=code, exclude_pk=self.indicator.pk if self.indicator else None
        )
        if problem:
            raise forms.ValidationError(problem)
        return code


class MilestoneForm(forms.Form):
    due_date = forms.DateField(label=_("Échéance du jalon"), widget=DateInput())
    value = decimal_field(_("Valeur attendue"))


class ManualValueForm(forms.Form):
    period = PeriodField()
    value = decimal_field(_("Valeur"))
    planned = decimal_field(_("Valeur prévue"), required=False)
    justification = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Obligatoire : la source de la valeur, son calcul ou la pièce qui l'établit."),
        error_messages={"required": _("Justifiez la valeur saisie.")},
    )

    def __init__(self, *args: Any, indicator: Indicator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if indicator.computation == Indicator.Computation.REGIONAL_VOLUME_SHARE:
            self.fields["value"].label = _("Volume régional total d'examens de la période")
            self.fields["value"].help_text = _(
                "Tous les examens d'imagerie de la région, membres ou non ; la part est calculée "
                "avec les examens produits par le réseau."
            )
            del self.fields["planned"]
        else:
            self.fields["value"].label = _("Valeur (par exemple budget dépensé)")
            self.fields["planned"].help_text = _(
                "Pour une ligne de budget : le montant prévu, montré à côté du montant dépensé."
            )


class FunderReportForm(forms.Form):
    period = PeriodField()
    indicators = forms.MultipleChoiceField(
        label=_("Indicateurs"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, indicators: list[Indicator], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["indicators"].choices = [  # type: ignore[attr-defined]
            (indicator.code, f"{indicator.code} – {indicator.label}") for indicator in indicators
        ]
