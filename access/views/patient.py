"""The patient portal: activate with a code, my exams and reports, who looked at them, and my
choices (grants, opposition).

Every page finds the patient through the signed-in account (``patient_portal.patient_of``),
never through an id from the browser: an id in a URL names a study, a grant or an emergency
access, and each is looked up *within* the patient's own record, so another patient's id
answers 404. Choices go through the same services as the staff screens and take effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import activation, patient_portal, selectors, services, tokens
from access.models import AccessGrant
from access.patient_forms import ActivationForm, ConfirmForm, PatientGrantForm
from audit.models import Action
from imaging.models import Patient
from imaging.reports import ReportUnavailable, study_report
from portal.http import client_ip, error_text, form_add_errors, signed_in_user

SEARCH_LIMIT = 20
QUERY_MAX_LENGTH = 100

View = Callable[..., HttpResponse]


def patient_required(view: Callable[..., HttpResponse]) -> View:
    """Signed in, with an activated record (else to the activation page); the view receives
    the patient."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = patient_portal.patient_of(user=request.user)
        if patient is None:
            return redirect("patient_portal:activate")
        return view(request, patient, *args, **kwargs)

    return wrapper


def _render(
    request: HttpRequest,
    patient: Patient,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """A patient page, with the emergency accesses to announce until acknowledged."""
    context = {
        "patient": patient,
        "emergencies": patient_portal.unacknowledged_emergencies(patient=patient),
        **context,
    }
    return render(request, template, context, status=status)


# --- Activation ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def activate(request: HttpRequest) -> HttpResponse:
    """Tie the signed-in account to a record with the printed code and the birth date. Signed
    out, the page explains how to create an account first and come back."""
    if not request.user.is_authenticated:
        return render(request, "access/patient/activate_signed_out.html")
    if patient_portal.patient_of(user=request.user) is not None:
        return redirect("patient_portal:exams")
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            activation.patient_activate(
                user=signed_in_user(request),
                code=form.cleaned_data["code"],
                birth_date=form.cleaned_data["birth_date"],
                ip=client_ip(request),
            )
        except activation.TooManyAttempts as error:
            form.add_error(None, str(error))
            return render(request, "access/patient/activate.html", {"form": form}, status=429)
        except activation.ActivationRefused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Votre espace patient est activé."))
            return redirect("patient_portal:welcome")
    status = 400 if form.is_bound else 200
    return render(request, "access/patient/activate.html", {"form": form}, status=status)


@require_GET
@patient_required
def welcome(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Right after activation: what the portal offers, and the second factor recommended."""
    from allauth.mfa.utils import is_mfa_enabled

    return _render(
        request,
        patient,
        "access/patient/welcome.html",
        {"has_mfa": is_mfa_enabled(request.user)},
    )


# --- My exams ----------------------------------------------------------------------------------


@require_GET
@patient_required
def exams(request: HttpRequest, patient: Patient) -> HttpResponse:
    studies = patient_portal.my_studies(
        user=signed_in_user(request), patient=patient, request=request
    )
    return _render(
        request,
        patient,
        "access/patient/exams.html",
        {"studies": studies, "establishments": {study.establishment for study in studies}},
    )


def _my_study(request: HttpRequest, patient: Patient, pk: int, action: str) -> Any:
    study = patient_portal.my_study(
        user=signed_in_user(request), patient=patient, pk=pk, action=action, request=request
    )
    if study is None:
        raise Http404
    return study


@require_GET
@never_cache
@patient_required
def report_download(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    study = _my_study(request, patient, pk, Action.DOWNLOAD)
    try:
        report = study_report(study=study)
    except ReportUnavailable as error:
        messages.error(request, str(error))
        return redirect("patient_portal:exams")
    response = HttpResponse(report.data, content_type=report.content_type)
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@never_cache
@patient_required
def viewer_open(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    """Open one of my studies in its archive's viewer with a token bound to me and to it."""
    study = _my_study(request, patient, pk, Action.READ)
    if study.source is None or not study.source.viewer_url:
        messages.error(request, _("Cet examen ne peut pas être ouvert dans une visionneuse."))
        return redirect("patient_portal:exams")
    minted = tokens.viewer_token_mint(user=signed_in_user(request), study=study)
    response = HttpResponseRedirect(minted.url or reverse("patient_portal:exams"))
    response.status_code = 303
    return response


# --- Who looked at my exams ---------------------------------------------------------------


@require_GET
@patient_required
def history(request: HttpRequest, patient: Patient) -> HttpResponse:
    entries = patient_portal.access_history(
        user=signed_in_user(request), patient=patient, request=request
    )
    return _render(
        request,
        patient,
        "access/patient/history.html",
        {"entries": entries, "days": patient_portal.HISTORY_DAYS},
    )


@require_POST
@patient_required
def emergency_acknowledge(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    access = patient_portal.my_emergency(patient=patient, pk=pk)
    if access is None:
        raise Http404
    try:
        services.break_glass_acknowledge(by=signed_in_user(request), access=access)
    except ValidationError as error:
        messages.error(request, error_text(error))
    back = "history" if request.POST.get("next_page") == "history" else "exams"
    return redirect(f"patient_portal:{back}")


# --- My choices ----------------------------------------------------------------------------------


def _opposition_forms(data: Any = None) -> tuple[ConfirmForm, ConfirmForm]:
    oppose = ConfirmForm(
        data,
        prefix="opposition",
        label=_("J'ai lu ce que change l'opposition et je m'oppose au partage de mes images."),
    )
    withdraw = ConfirmForm(
        data,
        prefix="retrait",
        label=_("Je retire mon opposition : les accès que j'ai donnés s'appliquent de nouveau."),
    )
    return oppose, withdraw


def _choices_page(
    request: HttpRequest,
    patient: Patient,
    *,
    grant_form: PatientGrantForm | None = None,
    oppose_form: ConfirmForm | None = None,
    withdraw_form: ConfirmForm | None = None,
    query: str = "",
    status: int = 200,
) -> HttpResponse:
    opposition = selectors.active_opposition(patient=patient)
    default_oppose, default_withdraw = _opposition_forms()
    grant_form = grant_form or PatientGrantForm()
    chosen = grant_form["practitioner"].value() if grant_form.is_bound else ""
    candidates = selectors.share_candidates(user=request.user, query=query, limit=SEARCH_LIMIT)
    context = {
        "opposition": opposition,
        "rows": selectors.grant_rows(patient=patient, opposed=opposition is not None),
        "grant_form": grant_form,
        "oppose_form": oppose_form or default_oppose,
        "withdraw_form": withdraw_form or default_withdraw,
        "producing": patient_portal.producing_establishments(patient=patient),
        "query": query,
        "candidates": candidates[:SEARCH_LIMIT],
        "more_candidates": len(candidates) > SEARCH_LIMIT,
        "min_length": selectors.SHARE_SEARCH_MIN_LENGTH,
        "search_limit": SEARCH_LIMIT,
        "chosen": str(chosen or ""),
    }
    if getattr(request, "htmx", False) and "q" in request.GET:
        return render(request, "access/sharing/_practitioner_choices.html", context)
    return _render(request, patient, "access/patient/choices.html", context, status=status)


def _query(value: str) -> str:
    return value.strip()[:QUERY_MAX_LENGTH]


@require_GET
@patient_required
def choices(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _choices_page(request, patient, query=_query(request.GET.get("q", "")))


@require_POST
@patient_required
def grant_create(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = PatientGrantForm(request.POST)
    if form.is_valid():
        practitioner = form.cleaned_data["practitioner"]
        try:
            grant = services.grant_create(
                by=signed_in_user(request),
                practitioner=practitioner,
                patient=patient,
                reason=AccessGrant.Reason.PATIENT_CHOICE,
                valid_until=form.valid_until(),
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form_add_errors(form, error, field_of={"valid_until": "last_day"})
        else:
            messages.success(
                request,
                _("%(name)s peut désormais voir vos images, jusqu'au %(date)s.")
                % {
                    "name": practitioner,
                    "date": date_format(timezone.localtime(grant.valid_until), "DATETIME_FORMAT"),
                },
            )
            return redirect("patient_portal:choices")
    return _choices_page(
        request, patient, grant_form=form, query=_query(request.POST.get("q", "")), status=400
    )


@require_POST
@patient_required
def grant_revoke(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    grant = patient_portal.my_grant(patient=patient, pk=pk)
    if grant is None:
        raise Http404
    try:
        services.grant_revoke(by=signed_in_user(request), grant=grant)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            _("Accès de %(name)s retiré : il ne voit plus vos images, dès maintenant.")
            % {"name": grant.practitioner},
        )
    return redirect("patient_portal:choices")


def _opposition_change(request: HttpRequest, patient: Patient, *, withdraw: bool) -> HttpResponse:
    oppose_form, withdraw_form = _opposition_forms(request.POST)
    form = withdraw_form if withdraw else oppose_form
    if form.is_valid():
        change = services.opposition_withdraw if withdraw else services.opposition_record
        try:
            change(by=signed_in_user(request), patient=patient)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Opposition retirée : les accès que vous avez donnés, et ceux des "
                    "établissements, s'appliquent de nouveau s'ils n'ont pas pris fin."
                )
                if withdraw
                else _(
                    "Opposition enregistrée : hors des équipes de soins des établissements où "
                    "vos examens ont été faits, plus personne ne voit vos images, dès maintenant."
                ),
            )
            return redirect("patient_portal:choices")
    return _choices_page(
        request,
        patient,
        oppose_form=None if withdraw else form,
        withdraw_form=form if withdraw else None,
        status=400,
    )


@require_POST
@patient_required
def opposition_record(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _opposition_change(request, patient, withdraw=False)


@require_POST
@patient_required
def opposition_withdraw(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _opposition_change(request, patient, withdraw=True)
