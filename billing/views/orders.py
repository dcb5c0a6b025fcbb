"""Pages of purchase orders: directors build and sign, regional administrators countersign.

Every page about one order fetches it through ``purchase_order_for``: a user who is not a
party gets a 404, never a hint that the order exists. Signing and countersigning also demand
a second factor on the account and a recent re-authentication (allauth asks for the password
again, then replays the request).
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import services
from billing.forms import (
    EstimateForm,
    OrderFilterForm,
    PurchaseOrderForm,
    RejectForm,
    TerminateForm,
)
from billing.models import PurchaseOrder, PurchaseOrderDocument, PurchaseOrderLine
from billing.permissions import (
    can_amend_order,
    can_build_orders,
    can_countersign_order,
    can_edit_order,
    can_list_orders,
    can_reject_order,
    can_sign_order,
    can_terminate_order,
    has_signature_second_factor,
    is_order_director,
)
from billing.selectors import (
    establishments_directed_by,
    order_quote,
    purchase_order_document_latest,
    purchase_order_for,
    purchase_order_total,
    purchase_orders_awaiting_countersignature,
    purchase_orders_filtered,
)
from establishments.models import Establishment
from portal.http import client_ip
from portal.roles import Role, is_regional_admin, role_required

PAGE_SIZE = 50


def _order_or_404(request: HttpRequest, pk: int) -> PurchaseOrder:
    order = purchase_order_for(user=request.user, pk=pk)
    if order is None:
        raise Http404
    return order


def _with_lines(queryset: Any) -> Any:
    return queryset.prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("offer"))
    )


@login_required
def purchase_order_list(request: HttpRequest) -> HttpResponse:
    if not can_list_orders(request.user):
        raise PermissionDenied
    establishments = (
        Establishment.objects.order_by("name")
        if is_regional_admin(request.user)
        else establishments_directed_by(user=request.user)  # type: ignore[arg-type]
    )
    filters = OrderFilterForm(request.GET or None, establishments=establishments)
    status, establishment_id = "", None
    if filters.is_valid():
        status = filters.cleaned_data["status"]
        chosen = filters.cleaned_data["establishment"]
        establishment_id = chosen.pk if chosen else None
    orders = _with_lines(
        purchase_orders_filtered(
            user=request.user, status=status, establishment_id=establishment_id
        )
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/orders/order_list.html",
        {
            "page": page,
            "filters": filters,
            "can_build": can_build_orders(request.user),
            "is_admin": is_regional_admin(request.user),
        },
    )


@role_required(Role.REGIONAL_ADMIN)
def purchase_order_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "billing/orders/order_queue.html",
        {"orders": _with_lines(purchase_orders_awaiting_countersignature())},
    )


@role_required(Role.DIRECTOR)
@require_http_methods(["GET", "POST"])
def purchase_order_create(request: HttpRequest) -> HttpResponse:
    form = PurchaseOrderForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.purchase_order_create(
                establishment=form.cleaned_data["establishment"],
                offer_codes=[offer.code for offer in form.cleaned_data["offers"]],
                estimated_yearly_volume=form.cleaned_data["estimated_yearly_volume"],
                start_date=form.cleaned_data["start_date"],
                created_by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("Brouillon enregistré. Vérifiez-le puis signez-le pour l'envoyer au GCS."),
            )
            return redirect("billing:purchase-order-detail", pk=order.pk)
    return _order_form(request, form, order=None, amends=None)


def _order_form(
    request: HttpRequest,
    form: PurchaseOrderForm,
    *,
    order: PurchaseOrder | None,
    amends: PurchaseOrder | None,
) -> HttpResponse:
    estimate_form = EstimateForm(request.POST) if request.method == "POST" else None
    if estimate_form is None and order is not None:
        estimate_form = EstimateForm(form.initial)
    return render(
        request,
        "billing/orders/order_form.html",
        {
            "form": form,
            "order": order,
            "amends": amends,
            "quote": estimate_form.quote_or_none() if estimate_form else None,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.DIRECTOR, Role.REGIONAL_ADMIN)
@require_POST
def purchase_order_estimate(request: HttpRequest) -> HttpResponse:
    """The live estimate of the order form (HTMX): per offer and in total."""
    form = EstimateForm(request.POST)
    return render(request, "billing/orders/_estimate.html", {"quote": form.quote_or_none()})


@login_required
def purchase_order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(request, pk)
    user = request.user
    draft = order.status == PurchaseOrder.Status.DRAFT
    quote = (
        order_quote(
            offer_codes=[line.offer.code for line in order.lines.all()],
            volume=order.estimated_yearly_volume,
            start_date=order.start_date,
        )
        if draft
        else None
    )
    return render(
        request,
        "billing/orders/order_detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "total": purchase_order_total(order=order),
            "quote": quote,
            "signatures": order.signatures.all(),
            "documents": order.documents.all(),
            "events": order.events.all(),
            "amendments": order.amendments.all(),
            "can_edit": can_edit_order(user, order),
            "can_sign": can_sign_order(user, order),
            "can_countersign": can_countersign_order(user, order),
            "can_reject": can_reject_order(user, order),
            "can_terminate": can_terminate_order(user, order),
            "can_amend": can_amend_order(user, order),
            "has_second_factor": has_signature_second_factor(user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(request, pk)
    if not can_edit_order(request.user, order):
        raise PermissionDenied
    form = PurchaseOrderForm(
        request.POST or None, user=request.user, order=order, amends=order.amends
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.purchase_order_update(
                order=order,
                offer_codes=[offer.code for offer in form.cleaned_data["offers"]],
                estimated_yearly_volume=form.cleaned_data["estimated_yearly_volume"],
                start_date=form.cleaned_data["start_date"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Brouillon enregistré."))
            return redirect("billing:purchase-order-detail", pk=order.pk)
    return _order_form(request, form, order=order, amends=order.amends)


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_amend(request: HttpRequest, pk: int) -> HttpResponse:
    amended = _order_or_404(request, pk)
    if not can_amend_order(request.user, amended):
        raise PermissionDenied
    form = PurchaseOrderForm(request.POST or None, user=request.user, amends=amended)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.purchase_order_create(
                establishment=amended.establishment,
                offer_codes=[offer.code for offer in form.cleaned_data["offers"]],
                estimated_yearly_volume=form.cleaned_data["estimated_yearly_volume"],
                start_date=form.cleaned_data["start_date"],
                created_by=request.user,
                amends=amended,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Avenant enregistré en brouillon."))
            return redirect("billing:purchase-order-detail", pk=order.pk)
    return _order_form(request, form, order=None, amends=amended)


def _second_factor_missing(request: HttpRequest, order: PurchaseOrder) -> HttpResponse:
    return render(
        request, "billing/orders/second_factor_required.html", {"order": order}, status=403
    )


def _refuse(request: HttpRequest, order: PurchaseOrder, error: ValidationError) -> HttpResponse:
    for message in error.messages:
        messages.error(request, message)
    return redirect("billing:purchase-order-detail", pk=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The director's signature: checks, then a confirmation page, then the signature."""
    order = _order_or_404(request, pk)
    if not can_sign_order(request.user, order):
        if order.status != PurchaseOrder.Status.DRAFT and is_order_director(request.user, order):
            messages.error(
                request,
                _(
                    "Ce bon de commande est déjà signé (%(number)s) : "
                    "il ne peut pas l'être deux fois."
                )
                % {"number": order.number},
            )
            return redirect("billing:purchase-order-detail", pk=order.pk)
        raise PermissionDenied
    if not has_signature_second_factor(request.user):
        return _second_factor_missing(request, order)
    return _sign(request, order)


@reauthentication_required
def _sign(request: HttpRequest, order: PurchaseOrder) -> HttpResponse:
    if request.method == "POST":
        try:
            signed = services.purchase_order_sign(
                order=order, user=request.user, ip_address=client_ip(request)
            )
        except ValidationError as error:
            return _refuse(request, order, error)
        messages.success(
            request,
            _(
                "Bon de commande %(number)s signé. Il est transmis au GCS pour contresignature ; "
                "vous serez prévenu par e-mail."
            )
            % {"number": signed.number},
        )
        return redirect("billing:purchase-order-detail", pk=order.pk)
    quote = order_quote(
        offer_codes=[line.offer.code for line in order.lines.all()],
        volume=order.estimated_yearly_volume,
        start_date=order.start_date,
    )
    return render(request, "billing/orders/order_sign.html", {"order": order, "quote": quote})


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_countersign(request: HttpRequest, pk: int) -> HttpResponse:
    """A regional administrator's countersignature, same safeguards as the signature."""
    order = _order_or_404(request, pk)
    if not can_countersign_order(request.user, order):
        if is_regional_admin(request.user):
            messages.error(
                request,
                _("Ce bon de commande n'attend pas de contresignature (statut : %(status)s).")
                % {"status": order.get_status_display()},
            )
            return redirect("billing:purchase-order-detail", pk=order.pk)
        raise PermissionDenied
    if not has_signature_second_factor(request.user):
        return _second_factor_missing(request, order)
    return _countersign(request, order)


@reauthentication_required
def _countersign(request: HttpRequest, order: PurchaseOrder) -> HttpResponse:
    if request.method == "POST":
        try:
            services.purchase_order_countersign(
                order=order, user=request.user, ip_address=client_ip(request)
            )
        except ValidationError as error:
            return _refuse(request, order, error)
        messages.success(
            request,
            _("Bon de commande %(number)s contresigné : il est en vigueur.")
            % {"number": order.number},
        )
        return redirect("billing:purchase-order-detail", pk=order.pk)
    return render(
        request,
        "billing/orders/order_countersign.html",
        {"order": order, "lines": order.lines.all(), "total": purchase_order_total(order=order)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_reject(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(request, pk)
    if not can_reject_order(request.user, order):
        raise PermissionDenied
    form = RejectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.purchase_order_reject(
                order=order, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            return _refuse(request, order, error)
        messages.success(request, _("Bon de commande refusé ; la direction est prévenue."))
        return redirect("billing:purchase-order-detail", pk=order.pk)
    return render(
        request,
        "billing/orders/order_reject.html",
        {"order": order, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def purchase_order_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(request, pk)
    if not can_terminate_order(request.user, order):
        raise PermissionDenied
    form = TerminateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.purchase_order_terminate(
                order=order,
                user=request.user,
                effective_date=form.cleaned_data["effective_date"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for key, errors in error.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                return _refuse(request, order, error)
        else:
            messages.success(request, _("Résiliation enregistrée."))
            return redirect("billing:purchase-order-detail", pk=order.pk)
    return render(
        request,
        "billing/orders/order_terminate.html",
        {"order": order, "form": form},
        status=400 if request.method == "POST" else 200,
    )


DOCUMENT_CHOICES = {
    "signe": PurchaseOrderDocument.Kind.SIGNED,
    "contresigne": PurchaseOrderDocument.Kind.COUNTERSIGNED,
}


@login_required
def purchase_order_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The stored PDF, for the parties only: the final one, or ``?version=signe``."""
    order = _order_or_404(request, pk)
    wanted = request.GET.get("version", "")
    if wanted:
        if wanted not in DOCUMENT_CHOICES:
            raise Http404
        document = next(
            (doc for doc in order.documents.all() if doc.kind == DOCUMENT_CHOICES[wanted]), None
        )
    else:
        document = purchase_order_document_latest(order=order)
    if document is None:
        raise Http404
    suffix = "" if document.kind == PurchaseOrderDocument.Kind.COUNTERSIGNED else "-signe"
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{order.number}{suffix}.pdf",
        content_type="application/pdf",
    )
