"""The dashboards' pages: the region's for regional administrators, an establishment's for
them and for its directors, and every table as CSV and XLSX (their content is
``reporting.dashboards``). Who may see an establishment is decided in one place,
``_establishment_for``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from establishments.models import Establishment
from establishments.selectors import directed_establishments
from portal.http import signed_in_user
from portal.roles import Role, is_regional_admin, role_required
from reporting.dashboard_forms import PeriodForm, period_presets
from reporting.dashboards import Dashboard, EstablishmentDashboard, RegionDashboard
from reporting.exports import FORMATS, export_response, long_date
from reporting.periods import Period
from reporting.selectors import rollups_complete_until

# --- Permissions, the period and rendering ----------------------------------------------------


def _establishment_for(request: HttpRequest, pk: int) -> Establishment:
    """The establishment ``pk`` if the user may see its dashboard: any for regional
    administrators, one they direct for directors; 404 otherwise, so that a director learns
    nothing of another establishment, not even that it exists."""
    user = signed_in_user(request)
    if is_regional_admin(user):
        return get_object_or_404(Establishment, pk=pk)
    return get_object_or_404(directed_establishments(user=user), pk=pk)


def _period_form(request: HttpRequest) -> PeriodForm:
    form = PeriodForm(request.GET, today=timezone.localdate())
    form.is_valid()
    return form


def _errors(form: PeriodForm) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


def _dashboard_page(
    request: HttpRequest,
    *,
    template: str,
    build: Callable[[Period], Dashboard],
    context: dict[str, Any],
) -> HttpResponse:
    """A dashboard for the query string's period; the picker and its errors (400) if the
    period is wrong; a redirect to ``?periode=`` when it came from the date inputs."""
    today = timezone.localdate()
    form = _period_form(request)
    complete_until = rollups_complete_until()
    context = {
        **context,
        "presets": period_presets(today=today),
        "complete_until": complete_until and long_date(complete_until),
    }
    if form.period is None:
        context |= {"form": form, "errors": _errors(form)}
        return render(request, template, context, status=400)
    period = form.period
    if form.from_dates:
        return redirect(f"{request.path}?{urlencode({'periode': period.code})}")
    dashboard = build(period)
    tables = {slug: dashboard.table(slug) for slug in dashboard.slugs}
    context |= {
        "form": PeriodForm(initial={"du": period.start, "au": period.end}, today=today),
        "period": period,
        "previous": dashboard.previous,
        "is_preset": any(code == period.code for code, _label in context["presets"]),
        "tables": {
            slug: {
                "table": table,
                "csv": dashboard.export_url(slug, "csv"),
                "xlsx": dashboard.export_url(slug, "xlsx"),
            }
            for slug, table in tables.items()
        },
        "charts": dashboard.charts(tables),
        # Days after the last complete one are still being counted.
        "provisional": complete_until is None or period.end > complete_until,
    }
    return render(request, template, context)


def _export(
    request: HttpRequest, dashboard_for: Callable[[Period], Dashboard], slug: str, fmt: str
) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404
    form = _period_form(request)
    if form.period is None:
        return HttpResponseBadRequest(
            " ".join(_errors(form)), content_type="text/plain; charset=utf-8"
        )
    dashboard = dashboard_for(form.period)
    return export_response(dashboard.table(slug), fmt=fmt, filename=dashboard.filename(slug))


# --- Views ------------------------------------------------------------------------------------


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def region(request: HttpRequest) -> HttpResponse:
    return _dashboard_page(
        request,
        template="reporting/region.html",
        build=lambda period: RegionDashboard(period=period),
        context={},
    )


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def region_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    return _export(request, lambda period: RegionDashboard(period=period), table, fmt)


@require_GET
@role_required(Role.REGIONAL_ADMIN, Role.DIRECTOR)
def establishment(request: HttpRequest, pk: int) -> HttpResponse:
    chosen = _establishment_for(request, pk)
    return _dashboard_page(
        request,
        template="reporting/establishment.html",
        build=lambda period: EstablishmentDashboard(period=period, establishment=chosen),
        context={"establishment": chosen, "regional": is_regional_admin(request.user)},
    )


@require_GET
@role_required(Role.REGIONAL_ADMIN, Role.DIRECTOR)
def establishment_export(request: HttpRequest, pk: int, table: str, fmt: str) -> HttpResponse:
    chosen = _establishment_for(request, pk)
    return _export(
        request,
        lambda period: EstablishmentDashboard(period=period, establishment=chosen),
        table,
        fmt,
    )


@require_GET
@role_required(Role.DIRECTOR)
def mine(request: HttpRequest) -> HttpResponse:
    """A director's way in: their establishment's dashboard, or the list if they direct
    several. The period asked for goes along."""
    establishments = list(directed_establishments(user=signed_in_user(request)).order_by("name"))
    query = request.GET.urlencode()
    if len(establishments) == 1:
        address = reverse("reporting:establishment", args=[establishments[0].pk])
        return redirect(f"{address}?{query}" if query else address)
    return render(
        request, "reporting/mine.html", {"establishments": establishments, "query": query}
    )
