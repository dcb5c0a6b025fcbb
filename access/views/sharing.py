"""Staff screens of a producing establishment: share a patient with an outside practitioner,
revoke grants, and (referents) record or withdraw the patient's opposition at their request.

Who may open the screens is ``selectors.staff_sharing`` (the care team or a referent of an
establishment that produced the patient's imaging, never the patient: theirs is the patient
portal); each write is checked again by its service. The page shows the patient's
identity, which these staff already hold, and no imaging: it needs no access decision. Every
form that writes posts; the one sent by GET searches the practitioner directory (``q`` is a
practitioner's name); the URLs carry internal ids only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from access import activation, selectors, services
from access.handout import access_code_handout
from access.models import AccessGrant
from access.sharing_forms import (
    GrantForm,
    OppositionForm,
    RevokeForm,
    opposition_record_form,
    opposition_withdraw_form,
)
from imaging.models import Patient
from portal.http import error_text, form_add_errors, signed_in_user

SEARCH_LIMIT = 20
QUERY_MAX_LENGTH = 100
# A service's error keys that a form names differently.
FIELD_OF_SERVICE_KEY = {"valid_until": "last_day"}


def _rights(request: HttpRequest, patient: Patient) -> selectors.StaffSharing:
    rights = selectors.staff_sharing(user=request.user, patient=patient)
    if not rights.establishments:
        raise PermissionDenied
    return rights


def _patient(request: HttpRequest, pk: int) -> tuple[Patient, selectors.StaffSharing]:
    patient = get_object_or_404(Patient, pk=pk)
    return patient, _rights(request, patient)


def _referent_patient(request: HttpRequest, pk: int) -> tuple[Patient, selectors.StaffSharing]:
    """The patient, for a referent of a producing establishment: the opposition is theirs."""
    patient, rights = _patient(request, pk)
    if not rights.referent_of:
        raise PermissionDenied
    return patient, rights


def _query(value: str) -> str:
    return value.strip()[:QUERY_MAX_LENGTH]


def _choices_context(request: HttpRequest, query: str, chosen: str = "") -> dict[str, Any]:
    candidates = selectors.share_candidates(user=request.user, query=query, limit=SEARCH_LIMIT)
    return {
        "query": query,
        "candidates": candidates[:SEARCH_LIMIT],
        "more_candidates": len(candidates) > SEARCH_LIMIT,
        "search_limit": SEARCH_LIMIT,
        "min_length": selectors.SHARE_SEARCH_MIN_LENGTH,
        "chosen": chosen,
    }


def _page(
    request: HttpRequest,
    patient: Patient,
    rights: selectors.StaffSharing,
    *,
    grant_form: GrantForm | None = None,
    opposition_form: OppositionForm | None = None,
    withdraw_form: OppositionForm | None = None,
    query: str = "",
    status: int = 200,
) -> HttpResponse:
    oppositions = list(selectors.oppositions_of(patient=patient))
    opposition = next((item for item in oppositions if item.withdrawn_at is None), None)
    rows = selectors.grant_rows(patient=patient, opposed=opposition is not None)
    grant_form = grant_form or GrantForm(establishments=rights.establishments)
    chosen = grant_form["practitioner"].value() if grant_form.is_bound else ""
    context = {
        "patient": patient,
        "establishments": rights.establishments,
        "opposition": opposition,
        "past_oppositions": [item for item in oppositions if item.withdrawn_at is not None],
        "may_manage_opposition": bool(rights.referent_of),
        "rows": rows,
        "grant_form": grant_form,
        "opposition_form": opposition_form or opposition_record_form(),
        "withdraw_form": withdraw_form or opposition_withdraw_form(),
        "portal_active": patient.user_id is not None,
        "pending_code": activation.pending_code(patient=patient),
        **_choices_context(request, query, str(chosen or "")),
    }
    return render(request, "access/sharing/patient_sharing.html", context, status=status)


@require_GET
@login_required
def patient_sharing(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's opposition and grants, and the forms to share, revoke and oppose. An HTMX
    search (``q``) answers with the matching practitioners alone."""
    patient, rights = _patient(request, pk)
    query = _query(request.GET.get("q", ""))
    if getattr(request, "htmx", False) and "q" in request.GET:
        return render(
            request, "access/sharing/_practitioner_choices.html", _choices_context(request, query)
        )
    return _page(request, patient, rights, query=query)


@require_POST
@login_required
def grant_create(request: HttpRequest, pk: int) -> HttpResponse:
    patient, rights = _patient(request, pk)
    form = GrantForm(request.POST, establishments=rights.establishments)
    if form.is_valid():
        practitioner = form.cleaned_data["practitioner"]
        try:
            grant = services.grant_create(
                by=signed_in_user(request),
                practitioner=practitioner,
                patient=patient,
                reason=form.cleaned_data["reason"],
                valid_until=form.valid_until(),
                comment=form.cleaned_data["comment"],
                establishment=form.chosen_establishment(),
            )
        except ValidationError as error:
            form_add_errors(form, error, field_of=FIELD_OF_SERVICE_KEY)
        else:
            messages.success(
                request,
                _("%(name)s a désormais accès aux images de ce patient, jusqu'au %(date)s.")
                % {
                    "name": practitioner,
                    "date": date_format(timezone.localtime(grant.valid_until), "DATETIME_FORMAT"),
                },
            )
            return redirect("access:patient-sharing", pk=patient.pk)
    return _page(
        request,
        patient,
        rights,
        grant_form=form,
        query=_query(request.POST.get("q", "")),
        status=400,
    )


@require_POST
@login_required
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(AccessGrant.objects.select_related("patient", "practitioner"), pk=pk)
    _rights(request, grant.patient)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(message) for message in form.errors["reason"]))
    else:
        try:
            services.grant_revoke(
                by=signed_in_user(request), grant=grant, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request,
                _("Accès de %(name)s révoqué : ses consultations sont refusées dès maintenant.")
                % {"name": grant.practitioner},
            )
    return redirect("access:patient-sharing", pk=grant.patient_id)


def _opposition_change(request: HttpRequest, pk: int, *, withdraw: bool) -> HttpResponse:
    """Record the patient's opposition, or withdraw it: a referent's act."""
    patient, rights = _referent_patient(request, pk)
    if withdraw:
        form = opposition_withdraw_form(request.POST)
        change = services.opposition_withdraw
        done = _(
            "Opposition retirée : les accès accordés qui n'ont pas pris fin s'appliquent "
            "de nouveau."
        )
    else:
        form = opposition_record_form(request.POST)
        change = services.opposition_record
        done = _(
            "Opposition enregistrée : hors des équipes de soins des établissements "
            "producteurs, tout accès est refusé dès maintenant."
        )
    if form.is_valid():
        try:
            change(
                by=signed_in_user(request), patient=patient, comment=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            form_add_errors(form, error, field_of=FIELD_OF_SERVICE_KEY)
        else:
            messages.success(request, done)
            return redirect("access:patient-sharing", pk=patient.pk)
    return _page(
        request,
        patient,
        rights,
        opposition_form=None if withdraw else form,
        withdraw_form=form if withdraw else None,
        status=400,
    )


@require_POST
@login_required
def opposition_record(request: HttpRequest, pk: int) -> HttpResponse:
    return _opposition_change(request, pk, withdraw=False)


@require_POST
@login_required
def opposition_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _opposition_change(request, pk, withdraw=True)


@require_POST
@never_cache
@login_required
def access_code_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Print a patient-portal access code: the answer is the PDF sheet to hand the patient,
    the only place the code ever appears (the portal keeps its keyed hash)."""
    patient, rights = _patient(request, pk)
    chosen = request.POST.get("establishment", "")
    establishment = next((e for e in rights.establishments if str(e.pk) == chosen), None)
    if establishment is None and len(rights.establishments) == 1:
        establishment = rights.establishments[0]
    if establishment is None:
        messages.error(request, _("Choisissez l'établissement qui remet le code."))
        return redirect("access:patient-sharing", pk=patient.pk)
    try:
        issued = activation.access_code_issue(
            by=signed_in_user(request), patient=patient, establishment=establishment
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("access:patient-sharing", pk=patient.pk)
    response = HttpResponse(access_code_handout(issued=issued), content_type="application/pdf")
    # A neutral name: the file may be saved on a shared workstation.
    response["Content-Disposition"] = (
        f'attachment; filename="code-acces-espace-patient-{issued.record.pk}.pdf"'
    )
    return response
