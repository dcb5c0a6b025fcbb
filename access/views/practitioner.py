"""Practitioners' pages: their patients, the exact patient search, a patient's imaging across
establishments, opening a study in its archive's viewer, and emergency ("break-the-glass")
access.

Every page that shows patient data asks ``access.decision`` first, which leaves one trace per
patient or study, and shows only what it granted. A refused patient is never described: the
search answers with no more than what the practitioner typed, and the refusal pages name no one.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors, services, timeline, tokens
from access.decision import Decision, Target, decide, decide_many
from access.forms import BreakGlassForm, PatientSearchForm
from audit.models import Action, Channel, Rule
from imaging.models import ImagingStudy, Patient
from portal.http import client_ip, signed_in_user
from portal.roles import Role, has_role, has_second_factor

PATIENTS_PER_PAGE = 25
STUDIES_PER_PAGE = 50

View = Callable[..., HttpResponse]


def practitioner_required(view: View) -> View:
    """Signed in with an accreditation in force; anyone else gets a page saying why (403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_role(request.user, Role.PRACTITIONER):
            return render(request, "access/practitioner/not_accredited.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Why:
    """Why a decision granted access, as the pages show it."""

    reason: str  # an ``audit.models.Rule`` value
    until: datetime.datetime | None = None  # end of the grant or the emergency access
    flagged: bool = False


def _why(decision: Decision, ends: timeline.RightEnds) -> Why:
    until = None
    if decision.grant_id is not None:
        until = ends.grants.get(decision.grant_id)
    elif decision.break_glass_id is not None:
        until = ends.break_glass.get(decision.break_glass_id)
    return Why(reason=decision.reason, until=until, flagged=decision.flagged)


def _granted(
    items: list[Any], decisions: list[Decision], ends: timeline.RightEnds
) -> list[tuple[Any, Why]]:
    return [
        (item, _why(decision, ends))
        for item, decision in zip(items, decisions, strict=True)
        if decision.granted
    ]


def _decide_web(request: HttpRequest, targets: list[Target], action: str) -> list[Decision]:
    """Decide a page of patients or studies for the signed-in user (one trace each)."""
    return decide_many(
        user=signed_in_user(request),
        targets=targets,
        action=action,
        channel=Channel.WEB,
        request=request,
    )


def _refused(request: HttpRequest, patient: Patient, decision: Decision) -> HttpResponse:
    """The refusal page: why, and the emergency access when the rules allow one. The patient
    is named only by the internal id already in the address."""
    return render(
        request,
        "access/practitioner/refused.html",
        {"patient_pk": patient.pk, "reason": decision.reason},
        status=403,
    )


def _live_patient(pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, merged_into__isnull=True)


# --- "Mes patients" ----------------------------------------------------------------------------


@require_GET
@practitioner_required
def my_patients(request: HttpRequest) -> HttpResponse:
    """The patients the practitioner may see (care team, grant, emergency access), 25 a page."""
    user = signed_in_user(request)
    page = Paginator(selectors.candidate_patients(user=user), PATIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    patients = list(page.object_list)
    decisions = _decide_web(request, [Target(patient) for patient in patients], Action.LIST)
    rows = _granted(patients, decisions, timeline.right_ends(decisions=decisions))
    return render(request, "access/practitioner/my_patients.html", {"page": page, "rows": rows})


# --- Search ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@practitioner_required
def patient_search(request: HttpRequest) -> HttpResponse:
    """Exact search by INS, or by name and birth date. Sent by POST only: the identity typed
    never appears in an address. Patients the practitioner may not see are not described."""
    if request.method != "POST":
        return render(request, "access/practitioner/search.html", {"form": PatientSearchForm()})
    form = PatientSearchForm(request.POST)
    if not form.is_valid():
        return render(request, "access/practitioner/search.html", {"form": form})
    data = form.cleaned_data
    matches = selectors.find_patients(
        ins=data["ins"],
        last_name=data["last_name"],
        first_name=data["first_name"],
        birth_date=data["birth_date"],
    )
    decisions = _decide_web(request, [Target(patient) for patient in matches], Action.SEARCH)
    refused = [(p, d) for p, d in zip(matches, decisions, strict=True) if not d.granted]
    return render(
        request,
        "access/practitioner/search.html",
        {
            "form": form,
            "searched": True,
            "rows": _granted(matches, decisions, timeline.right_ends(decisions=decisions)),
            # Only internal ids of the refused: the page cannot describe them.
            "no_right_ids": [p.pk for p, d in refused if d.reason == Rule.NO_RIGHT],
            "opposed": any(d.reason == Rule.OPPOSITION for _p, d in refused),
        },
    )


# --- A patient's imaging -----------------------------------------------------------------------


@dataclass(frozen=True)
class StudyRow:
    study: ImagingStudy
    why: Why
    contacts: list[timeline.DirectoryContact]


@require_GET
@practitioner_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's imaging at every establishment, newest first, 50 a page: the studies the
    practitioner may see, each with the imaging physicians to call, and how many others exist."""
    patient = get_object_or_404(Patient, pk=pk)
    if patient.merged_into_id is not None:
        return redirect("access:patient-detail", pk=patient.merged_into_id)
    user = signed_in_user(request)
    decision = decide(
        user=user, patient=patient, action=Action.READ, channel=Channel.WEB, request=request
    )
    if not decision.granted:
        return _refused(request, patient, decision)
    # The archive source tells whether a study has a viewer to open it in (one join, no query).
    studies_query = timeline.patient_studies(patient=patient).select_related("source")
    page = Paginator(studies_query, STUDIES_PER_PAGE).get_page(request.GET.get("page"))
    studies = list(page.object_list)
    decisions = _decide_web(request, [Target(patient, study) for study in studies], Action.READ)
    ends = timeline.right_ends(decisions=[decision, *decisions])
    shown = _granted(studies, decisions, ends)
    contacts = timeline.imaging_contacts(
        establishment_ids={study.establishment_id for study, _why in shown}
    )
    return render(
        request,
        "access/practitioner/patient_detail.html",
        {
            "patient": patient,
            "why": _why(decision, ends),
            "page": page,
            "rows": [
                StudyRow(study=study, why=why, contacts=contacts[study.establishment_id])
                for study, why in shown
            ],
            "hidden_count": len(studies) - len(shown),
            "can_share": selectors.can_manage_grants_of(user=user, patient=patient),
        },
    )


# --- A study in its archive's viewer -----------------------------------------------------------


@require_POST
@never_cache
@practitioner_required
def study_viewer_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a study in its archive's viewer: when ``access.decide`` lets the practitioner see
    it, mint a viewer token bound to them and to this study, and send the browser on to the
    viewer with it (303). An unknown study and a refused one both answer 404.

    The study is named by its internal id, so the portal's address carries no patient data; the
    token is only in the answer's ``Location`` (never stored in a cache: ``never_cache``) and
    the archive asks the portal about it at every request."""
    study = get_object_or_404(
        ImagingStudy.objects.present().select_related("patient", "source"),
        pk=pk,
        patient__isnull=False,
    )
    assert study.patient is not None  # filtered above
    user = signed_in_user(request)
    decision = decide(
        user=user,
        patient=study.patient,
        study=study,
        action=Action.READ,
        channel=Channel.WEB,
        request=request,
    )
    if not decision.granted:
        raise Http404
    if study.source is None or not study.source.viewer_url:
        return render(
            request,
            "access/practitioner/viewer_unavailable.html",
            {"patient_pk": study.patient.pk},
            status=409,
        )
    minted = tokens.viewer_token_mint(user=user, study=study)
    assert minted.url is not None  # the source has a viewer address, checked above
    response = HttpResponseRedirect(minted.url)
    response.status_code = 303  # "see other": the browser follows with a GET
    return response


# --- Emergency access --------------------------------------------------------------------------


def _duration_text(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if minutes == 0:
        return ngettext("%(count)d heure", "%(count)d heures", hours) % {"count": hours}
    if hours == 0:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": minutes}


@require_http_methods(["GET", "POST"])
@practitioner_required
def break_glass_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Emergency access to a patient the practitioner has no right on: refused when the
    patient opposes sharing; confirmed with the second factor (re-authentication) and a
    written justification; time-limited, traced, reviewed, and told to the patient."""
    patient = _live_patient(pk)
    user = signed_in_user(request)
    decision = decide(
        user=user, patient=patient, action=Action.READ, channel=Channel.WEB, request=request
    )
    if decision.granted:
        if decision.flagged:
            messages.info(request, _("Un accès d'urgence à ce patient vous est déjà ouvert."))
        return redirect("access:patient-detail", pk=patient.pk)
    if decision.reason != Rule.NO_RIGHT:
        return _refused(request, patient, decision)
    if not has_second_factor(user):
        return render(
            request,
            "access/practitioner/second_factor_required.html",
            {"patient_pk": patient.pk},
            status=403,
        )
    return _break_glass_form(request, patient)


@reauthentication_required(allow_get=True)
def _break_glass_form(request: HttpRequest, patient: Patient) -> HttpResponse:
    # The form is shown freely; sending it asks for the password or the authenticator code
    # again (allauth keeps the POST and replays it once the user is confirmed).
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access = services.break_glass_open(
                user=signed_in_user(request),
                patient=patient,
                category=form.cleaned_data["category"],
                justification=form.cleaned_data["justification"],
                source_ip=client_ip(request),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _(
                    "Accès d'urgence ouvert jusqu'à %(time)s. Il est tracé, sera examiné par "
                    "un auditeur et sera signalé au patient."
                )
                % {"time": date_format(timezone.localtime(access.expires_at), "TIME_FORMAT")},
            )
            return redirect("access:patient-detail", pk=patient.pk)
    return render(
        request,
        "access/practitioner/break_glass.html",
        {
            "form": form,
            "patient_pk": patient.pk,
            "duration": _duration_text(settings.BREAK_GLASS_DURATION_S),
        },
    )
