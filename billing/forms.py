"""Forms of the billing pages. They parse and check input; the services decide."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import pricing
from billing.models import Offer, PriceList, PurchaseOrder
from billing.selectors import establishments_directed_by, offers_active, offers_all, order_quote
from establishments.models import Establishment


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MoneyField(forms.DecimalField):
    """Euros as people type them: "1 500,50", "1500.50" (spaces as thousands separators)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = "".join(value.split())
        return super().to_python(value)


def money_field(label: Any, *, required: bool = True) -> forms.DecimalField:
    return MoneyField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        localize=True,
    )


# --- Catalogue ---------------------------------------------------------------------------------


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = ("name", "description", "active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PriceListForm(forms.Form):
    label = forms.CharField(label=_("Libellé"), max_length=200)
    valid_from = forms.DateField(label=_("En vigueur à partir du"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("En vigueur jusqu'au (inclus)"),
        required=False,
        widget=DateInput(),
        help_text=_("Laisser vide pour une grille sans date de fin."),
    )

    def __init__(self, *args: Any, offers: Iterable[Offer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for offer in offers:
            self.fields[f"fee_{offer.code}"] = money_field(
                _("Forfait annuel (€ HT)"), required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité précède son début."))
        return cleaned


class BandForm(forms.Form):
    min_volume = forms.IntegerField(label=_("De (examens par an)"), min_value=0)
    max_volume = forms.IntegerField(
        label=_("À (inclus, vide = sans limite)"), min_value=0, required=False
    )
    price_per_study = money_field(_("Prix par examen (€ HT)"))


BandFormSet = formset_factory(BandForm, extra=2, can_delete=True)


class PriceListEditor:
    """The price list page's forms together: the period, and per offer an annual fee and its
    volume bands (one formset per offer, prefix ``bands-<code>``). An offer whose fee is left
    empty is not priced by the list."""

    def __init__(self, data: Any = None, *, price_list: PriceList | None = None) -> None:
        priced: dict[str, Any] = {}
        bands: dict[str, list[dict[str, Any]]] = {}
        initial: dict[str, Any] = {}
        if price_list is not None:
            initial = {
                "label": price_list.label,
                "valid_from": price_list.valid_from,
                "valid_until": price_list.valid_until,
            }
            for price in price_list.offer_prices.all():
                priced[price.offer.code] = price.annual_fee
                initial[f"fee_{price.offer.code}"] = price.annual_fee
            for band in price_list.bands.all():
                bands.setdefault(band.offer.code, []).append(
                    {
                        "min_volume": band.min_volume,
                        "max_volume": band.max_volume,
                        "price_per_study": band.price_per_study,
                    }
                )
        self.offers = [offer for offer in offers_all() if offer.active or offer.code in priced]
        self.form = PriceListForm(data, initial=initial, offers=self.offers)
        self.formsets = {
            # Bound formsets take no initial rows: a row emptied by the user is then ignored
            # (like a deleted one) instead of being compared with what it held.
            offer.code: BandFormSet(
                data,
                prefix=f"bands-{offer.code}",
                initial=None if data is not None else bands.get(offer.code) or None,
            )
            for offer in self.offers
        }
        self.band_errors: dict[str, list[str]] = {}

    def sections(self) -> list[dict[str, Any]]:
        """One entry per offer, for the template."""
        return [
            {
                "offer": offer,
                "fee": self.form[f"fee_{offer.code}"],
                "formset": self.formsets[offer.code],
                "errors": self.band_errors.get(offer.code, []),
            }
            for offer in self.offers
        ]

    def _bands(self, code: str) -> list[pricing.Band]:
        formset = self.formsets[code]
        return [
            pricing.Band(
                form.cleaned_data["min_volume"],
                form.cleaned_data.get("max_volume"),
                form.cleaned_data["price_per_study"],
            )
            for form in formset.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        # Validate every formset (not just up to the first invalid one) to show all errors.
        formsets_valid = [formset.is_valid() for formset in self.formsets.values()]
        valid = all(formsets_valid) and valid
        if not valid:
            return False
        for offer in self.offers:
            fee = self.form.cleaned_data.get(f"fee_{offer.code}")
            if fee is None and self._bands(offer.code):
                self.form.add_error(
                    f"fee_{offer.code}",
                    _("Renseignez le forfait annuel de cette offre, ou supprimez ses tranches."),
                )
                valid = False
        return valid

    @property
    def cleaned(self) -> dict[str, Any]:
        return self.form.cleaned_data

    def tariffs(self) -> list[pricing.OfferTariff]:
        """The offers the list prices (a fee was given), with their bands."""
        return [
            pricing.OfferTariff(
                offer_code=offer.code,
                offer_name=offer.name,
                annual_fee=self.cleaned[f"fee_{offer.code}"],
                bands=tuple(self._bands(offer.code)),
            )
            for offer in self.offers
            if self.cleaned.get(f"fee_{offer.code}") is not None
        ]

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal next to the fields it is about."""
        if not hasattr(error, "error_dict"):
            self.form.add_error(None, error)
            return
        for key, errors in error.message_dict.items():
            if key.startswith("bands_"):
                self.band_errors.setdefault(key.removeprefix("bands_"), []).extend(errors)
            elif key in self.form.fields:
                self.form.add_error(key, errors)
            else:
                self.form.add_error(None, errors)


class PriceListCloseForm(forms.Form):
    valid_until = forms.DateField(label=_("Dernier jour de validité"), widget=DateInput())


# --- Purchase orders ---------------------------------------------------------------------------


class OfferChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class EstimateForm(forms.Form):
    """What the live estimate needs; every field is optional while the director types."""

    offers = OfferChoiceField(
        label=_("Offres souscrites"),
        queryset=Offer.objects.none(),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )
    estimated_yearly_volume = forms.IntegerField(
        label=_("Volume annuel estimé (examens par an)"), min_value=1
    )
    start_date = forms.DateField(label=_("Date de début"), widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offers"].queryset = offers_active()  # type: ignore[attr-defined]

    def quote_or_none(self) -> Any:
        """The quote when the three inputs are valid, else None."""
        if not self.is_valid():
            return None
        return order_quote(
            offer_codes=[offer.code for offer in self.cleaned_data["offers"]],
            volume=self.cleaned_data["estimated_yearly_volume"],
            start_date=self.cleaned_data["start_date"],
        )


class PurchaseOrderForm(EstimateForm):
    """A director's draft: establishment (when they direct several), offers, volume, start."""

    establishment = forms.ModelChoiceField(
        label=_("Établissement"), queryset=Establishment.objects.none(), empty_label=None
    )

    field_order = ("establishment", "offers", "estimated_yearly_volume", "start_date")

    def __init__(
        self,
        *args: Any,
        user: Any,
        order: PurchaseOrder | None = None,
        amends: PurchaseOrder | None = None,
        **kwargs: Any,
    ) -> None:
        if order is not None:
            kwargs.setdefault(
                "initial",
                {
                    "offers": [line.offer.code for line in order.lines.all()],
                    "estimated_yearly_volume": order.estimated_yearly_volume,
                    "start_date": order.start_date,
                },
            )
        elif amends is not None:
            kwargs.setdefault(
                "initial",
                {
                    "offers": [line.offer.code for line in amends.lines.all()],
                    "estimated_yearly_volume": amends.estimated_yearly_volume,
                },
            )
        super().__init__(*args, **kwargs)
        self.order = order
        self.amends = amends
        if order is not None or amends is not None:
            # The establishment of a draft or of an amendment is fixed.
            del self.fields["establishment"]
        else:
            self.fields["establishment"].queryset = establishments_directed_by(user=user)  # type: ignore[attr-defined]

    def clean_start_date(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["start_date"]
        if day < timezone.localdate():
            raise ValidationError(_("La date de début ne peut pas être dans le passé."))
        if self.amends is not None and day <= self.amends.start_date:
            raise ValidationError(
                _("L'avenant doit commencer après le bon qu'il modifie (%(day)s).")
                % {"day": self.amends.start_date.strftime("%d/%m/%Y")}
            )
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if {"offers", "estimated_yearly_volume", "start_date"} <= cleaned.keys():
            quote = order_quote(
                offer_codes=[offer.code for offer in cleaned["offers"]],
                volume=cleaned["estimated_yearly_volume"],
                start_date=cleaned["start_date"],
            )
            if not quote.ok:
                self.add_error("start_date" if quote.price_list is None else "offers", quote.error)
        return cleaned

    def add_service_errors(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for key, errors in error.message_dict.items():
                self.add_error(key if key in self.fields else None, errors)
        else:
            self.add_error(None, error)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du refus"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Il est communiqué à la direction de l'établissement."),
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Indiquez le motif du refus."))
        return reason


class TerminateForm(forms.Form):
    effective_date = forms.DateField(
        label=_("Date d'effet"),
        widget=DateInput(),
        help_text=_(
            "Premier jour sans service. Aujourd'hui ou passée : la résiliation est immédiate ; "
            "future : elle s'appliquera ce jour-là."
        ),
    )
    reason = forms.CharField(
        label=_("Motif de la résiliation"), widget=forms.Textarea(attrs={"rows": 4})
    )


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("Tous")), *PurchaseOrder.Status.choices],
    )
    establishment = forms.ModelChoiceField(
        label=_("Établissement"),
        required=False,
        queryset=Establishment.objects.none(),
        empty_label=_("Tous"),
    )

    def __init__(self, *args: Any, establishments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = establishments  # type: ignore[attr-defined]
