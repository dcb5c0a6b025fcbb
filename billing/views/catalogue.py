"""Pages of the catalogue: offers and price lists (regional administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import services
from billing.forms import OfferForm, PriceListCloseForm, PriceListEditor
from billing.models import Offer, PriceList
from billing.selectors import (
    offers_all,
    price_list_is_locked,
    price_list_valid_on,
    price_list_with_prices,
    price_lists_overview,
)
from portal.roles import Role, role_required

admin_only = role_required(Role.REGIONAL_ADMIN)


@admin_only
def offer_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "billing/catalogue/offer_list.html",
        {
            "offers": offers_all(),
            "current_price_list": price_list_valid_on(day=timezone.localdate()),
        },
    )


@admin_only
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=pk)
    form = OfferForm(request.POST or None, instance=offer)
    if request.method == "POST" and form.is_valid():
        services.offer_update(
            offer=offer,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            active=form.cleaned_data["active"],
            by=request.user,
        )
        messages.success(request, _("Offre « %(name)s » enregistrée.") % {"name": offer.name})
        return redirect("billing:offer-list")
    return render(request, "billing/catalogue/offer_form.html", {"offer": offer, "form": form})


@admin_only
def price_list_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "billing/catalogue/price_list_list.html", {"price_lists": price_lists_overview()}
    )


def _price_list_or_404(pk: int) -> PriceList:
    price_list = price_list_with_prices(pk=pk)
    if price_list is None:
        raise Http404
    return price_list


@admin_only
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list_or_404(pk)
    return render(
        request,
        "billing/catalogue/price_list_detail.html",
        {
            "price_list": price_list,
            "locked": price_list_is_locked(price_list=price_list),
            "close_form": PriceListCloseForm(initial={"valid_until": price_list.valid_until}),
            "orders": price_list.orders.select_related("establishment").order_by("-created_at"),
        },
    )


@admin_only
@require_http_methods(["GET", "POST"])
def price_list_create(request: HttpRequest) -> HttpResponse:
    editor = PriceListEditor(request.POST or None)
    if request.method == "POST" and editor.is_valid():
        try:
            price_list = services.price_list_create(
                label=editor.cleaned["label"],
                valid_from=editor.cleaned["valid_from"],
                valid_until=editor.cleaned.get("valid_until"),
                tariffs=editor.tariffs(),
                created_by=request.user,
            )
        except ValidationError as error:
            editor.add_service_errors(error)
        else:
            messages.success(request, _("Grille tarifaire créée."))
            return redirect("billing:price-list-detail", pk=price_list.pk)
    return render(
        request,
        "billing/catalogue/price_list_form.html",
        {"editor": editor, "price_list": None},
        status=400 if request.method == "POST" else 200,
    )


@admin_only
@require_http_methods(["GET", "POST"])
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = _price_list_or_404(pk)
    if price_list_is_locked(price_list=price_list):
        messages.error(
            request,
            _(
                "Cette grille est utilisée par un bon de commande signé : elle ne peut plus être "
                "modifiée. Créez une nouvelle grille (vous pouvez clore celle-ci)."
            ),
        )
        return redirect("billing:price-list-detail", pk=price_list.pk)
    editor = PriceListEditor(request.POST or None, price_list=price_list)
    if request.method == "POST" and editor.is_valid():
        try:
            services.price_list_update(
                price_list=price_list,
                label=editor.cleaned["label"],
                valid_from=editor.cleaned["valid_from"],
                valid_until=editor.cleaned.get("valid_until"),
                tariffs=editor.tariffs(),
                by=request.user,
            )
        except ValidationError as error:
            editor.add_service_errors(error)
        else:
            messages.success(request, _("Grille tarifaire enregistrée."))
            return redirect("billing:price-list-detail", pk=price_list.pk)
    return render(
        request,
        "billing/catalogue/price_list_form.html",
        {"editor": editor, "price_list": price_list},
        status=400 if request.method == "POST" else 200,
    )


@admin_only
@require_POST
def price_list_close(request: HttpRequest, pk: int) -> HttpResponse:
    price_list = get_object_or_404(PriceList, pk=pk)
    form = PriceListCloseForm(request.POST)
    if form.is_valid():
        try:
            services.price_list_close(
                price_list=price_list,
                valid_until=form.cleaned_data["valid_until"],
                by=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Date de fin de la grille enregistrée."))
    else:
        messages.error(request, _("Indiquez une date de fin valide."))
    return redirect("billing:price-list-detail", pk=price_list.pk)
