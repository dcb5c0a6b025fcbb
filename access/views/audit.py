"""The auditors' pages: the review queue of emergency accesses, the review of one, and the
access trail with its CSV export.

Auditors only (``role_required``). The trail's filters are posted and kept in the session, so
that no patient (INS, name, birth date) ever appears in a URL; paging and the export read them
from there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import selectors, services
from access.audit_forms import (
    BreakGlassReviewForm,
    PatientChoiceForm,
    ReviewStateForm,
    TrailFilterForm,
)
from access.decision import AUDIT_PURPOSE, Target, decide, decide_many
from access.models import BreakGlassAccess
from access.trail import (
    EXPORT_MAX_ROWS,
    TrailCriteria,
    break_glass_for_review,
    break_glass_review_counts,
    break_glass_trail,
    establishments_named,
    events_matching,
    export_lines,
    export_too_large,
    may_review,
    patients_by_id,
    trail_rows,
)
from audit.models import Action, Channel
from imaging.models import Patient
from portal.http import error_text
from portal.http import signed_in_user as _user
from portal.roles import Role, role_required

QUEUE_PAGE_SIZE = 25
TRAIL_PAGE_SIZE = 50

SESSION_CRITERIA = "access.trail.criteria"
SESSION_CANDIDATES = "access.trail.candidates"


# --- Emergency accesses ----------------------------------------------------------------------


@require_GET
@role_required(Role.AUDITOR)
def break_glass_queue(request: HttpRequest) -> HttpResponse:
    """Emergency accesses by review state: those awaiting review unless another tab is chosen."""
    form = ReviewStateForm(request.GET)
    page = Paginator(selectors.break_glass_queue(review=form.state()), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = break_glass_review_counts()
    current = form.tab()
    tabs = [
        {
            "value": value,
            "label": label,
            "count": counts.get(value, sum(counts.values())),
            "current": value == current,
        }
        for value, label in ReviewStateForm.base_fields["etat"].choices  # type: ignore[attr-defined]
    ]
    return render(
        request,
        "access/audit/break_glass_queue.html",
        {"page": page, "tabs": tabs, "current": current},
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.AUDITOR)
def break_glass_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One emergency access, what was done under it, and the auditor's verdict."""
    access = break_glass_for_review(pk=pk)
    if access is None:
        raise Http404
    decide(
        user=_user(request),
        patient=access.patient,
        action=Action.READ,
        channel=Channel.WEB,
        purpose=AUDIT_PURPOSE,
        request=request,
    )
    form = BreakGlassReviewForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reviewed = services.break_glass_review(
                    by=_user(request),
                    access=access,
                    justified=form.justified,
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    # Reviewed meanwhile (by another auditor): the page now shows that verdict.
                    messages.error(request, error_text(error))
                    return redirect("access:break-glass-review", pk=access.pk)
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("Examen enregistré : accès jugé « %(verdict)s ».")
                    % {"verdict": reviewed.get_review_display().lower()},
                )
                return redirect("access:break-glass-review", pk=access.pk)
        status = 400
    return render(
        request,
        "access/audit/break_glass_review.html",
        {
            "access": access,
            "form": form,
            "may_review": may_review(user=_user(request), access=access),
            "rows": break_glass_trail(access=access),
            "pending": access.review == BreakGlassAccess.Review.PENDING,
        },
        status=status,
    )


# --- The access trail ------------------------------------------------------------------------

_TRACE_CHUNK = 1000


def _trace_audit_read(
    request: HttpRequest, patient_ids: set[int], *, action: str, channel: str
) -> None:
    """The trail shows patients' identities: each one shown is an audit read, decided and
    traced like any access (one trace per patient, in bounded batches)."""
    ordered = sorted(patient_ids)
    for start in range(0, len(ordered), _TRACE_CHUNK):
        patients = Patient.objects.filter(pk__in=ordered[start : start + _TRACE_CHUNK]).only(
            "pk", "user_id"
        )
        decide_many(
            user=_user(request),
            targets=[Target(patient) for patient in patients],
            action=action,
            channel=channel,
            purpose=AUDIT_PURPOSE,
            request=request,
        )


def _criteria(request: HttpRequest) -> TrailCriteria:
    return TrailCriteria.from_session(request.session.get(SESSION_CRITERIA))


def _keep(request: HttpRequest, criteria: TrailCriteria) -> None:
    request.session[SESSION_CRITERIA] = criteria.to_session()


def _candidates(request: HttpRequest) -> list[int]:
    try:
        return [int(pk) for pk in request.session.get(SESSION_CANDIDATES) or []]
    except (TypeError, ValueError):
        return []


def _back_to_trail() -> HttpResponse:
    # Always the bare address: the filters live in the session.
    return redirect("access:audit-events")


@require_http_methods(["GET", "POST"])
@role_required(Role.AUDITOR)
def audit_events(request: HttpRequest) -> HttpResponse:
    """The access trail, narrowed by the filters in the session, the latest first."""
    criteria = _criteria(request)
    if request.method == "GET":
        return _trail_page(request, criteria, TrailFilterForm(initial=_initial(criteria)))
    action = request.POST.get("action", "filter")
    if action == "reset":
        request.session.pop(SESSION_CRITERIA, None)
        request.session.pop(SESSION_CANDIDATES, None)
        return _back_to_trail()
    if action == "clear-patient":
        _keep(request, criteria.without_patient())
        return _back_to_trail()
    if action == "cancel-choice":
        request.session.pop(SESSION_CANDIDATES, None)
        return _back_to_trail()
    if action == "choose-patient":
        choice = PatientChoiceForm(request.POST, candidates=_candidates(request))
        if not choice.is_valid():
            return _trail_page(
                request, criteria, TrailFilterForm(initial=_initial(criteria)), choice, status=400
            )
        _keep(request, criteria.with_patients(choice.chosen()))
        request.session.pop(SESSION_CANDIDATES, None)
        return _back_to_trail()
    form = TrailFilterForm(request.POST)
    if not form.is_valid():
        return _trail_page(request, criteria, form, status=400)
    _keep(request, form.criteria(current=criteria))
    if len(form.patient_candidates) > 1:
        request.session[SESSION_CANDIDATES] = form.patient_candidates
    else:
        request.session.pop(SESSION_CANDIDATES, None)
    return _back_to_trail()


def _initial(criteria: TrailCriteria) -> dict[str, Any]:
    return TrailFilterForm.initial_from(criteria)


def _trail_page(
    request: HttpRequest,
    criteria: TrailCriteria,
    form: TrailFilterForm,
    choice: PatientChoiceForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    page = Paginator(events_matching(criteria=criteria), TRAIL_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    candidates = _candidates(request)
    if candidates and choice is None:
        choice = PatientChoiceForm(candidates=candidates)
    rows = trail_rows(list(page.object_list))
    _trace_audit_read(
        request,
        {row.patient.pk for row in rows if row.patient is not None}
        | set(criteria.patient_ids)
        | set(candidates),
        action=Action.LIST,
        channel=Channel.WEB,
    )
    return render(
        request,
        "access/audit/events.html",
        {
            "form": form,
            "criteria": criteria,
            "patients": patients_by_id(criteria.patient_ids) if criteria.patient_ids else [],
            "establishments": establishments_named(criteria.establishment_ids),
            "candidates": patients_by_id(candidates) if candidates else [],
            "choice": choice,
            "page": page,
            "rows": rows,
        },
        status=status,
    )


@require_POST
@role_required(Role.AUDITOR)
def audit_events_csv(request: HttpRequest) -> HttpResponseBase:
    """The filtered trail as a CSV file for a French spreadsheet (semicolons, UTF-8 BOM),
    streamed so that a large export holds one chunk of rows in memory at a time."""
    # The export stops at this moment: the traces it writes itself are not part of it.
    events = events_matching(criteria=_criteria(request)).filter(recorded_at__lte=timezone.now())
    if export_too_large(events):
        messages.error(
            request,
            _(
                "L'export est limité à %(limit)s traces : réduisez la période ou ajoutez "
                "des filtres."
            )
            % {"limit": f"{EXPORT_MAX_ROWS:,}".replace(",", "\u202f")},
        )
        return _back_to_trail()
    # Traced before streaming, so that an interrupted download is traced too.
    _trace_audit_read(
        request,
        {pk for pk in events.order_by().values_list("patient_id", flat=True).distinct() if pk},
        action=Action.EXPORT,
        channel=Channel.EXPORT,
    )
    response = StreamingHttpResponse(export_lines(events), content_type="text/csv; charset=utf-8")
    filename = f"traces-acces-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
