"""Pages of the funder indicators and reports, for regional administrators only.

Views only translate: ``role_required`` decides who may come, the selectors of
``reporting.indicators`` and ``reporting.funder_report`` find the objects (None → 404), the
services of ``reporting.services`` write.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.http import form_add_errors, signed_in_user
from portal.roles import Role, role_required
from reporting import services
from reporting.funder_report import (
    funder_report_downloadable,
    funder_report_get,
    funder_reports_recent,
)
from reporting.indicators import (
    ENTERED,
    UnknownIndicators,
    indicator_get,
    indicators_all,
    manual_values_of,
)
from reporting.models import FunderReport, Indicator
from reporting.report_forms import (
    FunderReportForm,
    IndicatorForm,
    ManualValueForm,
    MilestoneForm,
)

admin_only = role_required(Role.REGIONAL_ADMIN)


def _indicator_or_404(pk: int) -> Indicator:
    indicator = indicator_get(pk=pk)
    if indicator is None:
        raise Http404
    return indicator


def _report_or_404(pk: int) -> FunderReport:
    report = funder_report_get(pk=pk)
    if report is None:
        raise Http404
    return report


def _status(request: HttpRequest) -> int:
    """A refused form comes back with 400, a page shown for the first time with 200."""
    return 400 if request.method == "POST" else 200


# --- Indicators --------------------------------------------------------------------------------


@require_GET
@admin_only
def indicator_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "reporting/reports/indicator_list.html", {"indicators": list(indicators_all())}
    )


@admin_only
def indicator_create(request: HttpRequest) -> HttpResponse:
    form = IndicatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            indicator = services.indicator_create(**form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Indicateur %(code)s créé.") % {"code": indicator.code})
            return redirect("reports:indicator-detail", pk=indicator.pk)
    return render(
        request,
        "reporting/reports/indicator_form.html",
        {"form": form, "indicator": None},
        status=_status(request),
    )


@admin_only
def indicator_edit(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = _indicator_or_404(pk)
    form = IndicatorForm(request.POST or None, indicator=indicator)
    if request.method == "POST" and form.is_valid():
        try:
            services.indicator_update(indicator=indicator, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request, _("Indicateur %(code)s enregistré.") % {"code": indicator.code}
            )
            return redirect("reports:indicator-detail", pk=indicator.pk)
    return render(
        request,
        "reporting/reports/indicator_form.html",
        {"form": form, "indicator": indicator},
        status=_status(request),
    )


def _detail(
    request: HttpRequest,
    indicator: Indicator,
    *,
    milestone_form: MilestoneForm | None = None,
    value_form: ManualValueForm | None = None,
) -> HttpResponse:
    entered = indicator.computation in ENTERED
    context: dict[str, Any] = {
        "indicator": indicator,
        "milestones": list(indicator.milestones.order_by("due_date")),
        "milestone_form": milestone_form or MilestoneForm(),
        "entered": entered,
        "value_form": (value_form or ManualValueForm(indicator=indicator)) if entered else None,
        "entries": list(manual_values_of(indicator=indicator)),
        "is_share": indicator.computation == Indicator.Computation.REGIONAL_VOLUME_SHARE,
    }
    return render(
        request, "reporting/reports/indicator_detail.html", context, status=_status(request)
    )


@require_GET
@admin_only
def indicator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _indicator_or_404(pk))


@require_POST
@admin_only
def milestone_add(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = _indicator_or_404(pk)
    form = MilestoneForm(request.POST)
    if form.is_valid():
        try:
            services.milestone_add(indicator=indicator, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Jalon ajouté."))
            return redirect("reports:indicator-detail", pk=indicator.pk)
    return _detail(request, indicator, milestone_form=form)


@require_POST
@admin_only
def milestone_remove(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    indicator = _indicator_or_404(pk)
    milestone = indicator.milestones.filter(pk=milestone_pk).first()
    if milestone is None:
        raise Http404
    services.milestone_remove(milestone=milestone)
    messages.success(request, _("Jalon retiré."))
    return redirect("reports:indicator-detail", pk=indicator.pk)


@require_POST
@admin_only
def manual_value_enter(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = _indicator_or_404(pk)
    if indicator.computation not in ENTERED:
        raise Http404
    form = ManualValueForm(request.POST, indicator=indicator)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.manual_value_enter(
                indicator=indicator,
                period=data["period"],
                value=data["value"],
                planned=data.get("planned"),
                justification=data["justification"],
                entered_by=signed_in_user(request),
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request,
                _("Valeur enregistrée pour la période « %(period)s ».")
                % {"period": data["period"].label},
            )
            return redirect("reports:indicator-detail", pk=indicator.pk)
    return _detail(request, indicator, value_form=form)


# --- Reports -----------------------------------------------------------------------------------


@admin_only
def report_list(request: HttpRequest) -> HttpResponse:
    """Past reports, and the form asking for a new one (generated by a worker)."""
    indicators = list(indicators_all())
    form = FunderReportForm(request.POST or None, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.funder_report_request(
                period=form.cleaned_data["period"],
                codes=form.cleaned_data["indicators"],
                requested_by=signed_in_user(request),
            )
        except UnknownIndicators as error:
            form.add_error("indicators", str(error))
        else:
            messages.info(request, _("Rapport demandé : il se prépare."))
            return redirect("reports:report-detail", pk=report.pk)
    return render(
        request,
        "reporting/reports/report_list.html",
        {
            "form": form,
            "reports": list(funder_reports_recent()),
            "followed": [indicator.code for indicator in indicators if indicator.active],
        },
        status=_status(request),
    )


@require_GET
@admin_only
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "reporting/reports/report_detail.html", {"report": _report_or_404(pk)})


@require_GET
@admin_only
def report_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by the detail page until the report is done or failed."""
    return render(request, "reporting/reports/_progress.html", {"report": _report_or_404(pk)})


@require_GET
@admin_only
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    report = funder_report_downloadable(pk=pk)
    if report is None:
        raise Http404
    return FileResponse(
        report.file.open("rb"),
        as_attachment=True,
        filename=f"rapport-financeur-{slugify(report.period)}-{report.pk}.pdf",
        content_type="application/pdf",
    )
