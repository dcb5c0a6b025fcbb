"""Pages of the practitioners app: the accreditation request and its review, "Mon habilitation",
a practitioner's page for their reviewers, and the practitioner directory.

Views translate: they parse a form, call one selector or service, and render. Who may see or
act is decided by the selectors (``request_visible_to``, ``can_review_request``,
``practitioner_managed_by``...): a request that does not name the reviewer's establishment
answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.http import base_url as _base_url
from portal.http import error_text as _messages_of
from portal.http import signed_in_user as _user
from portal.roles import Role, role_required
from practitioners.forms import (
    AccreditationRequestForm,
    AnswerForm,
    AskInfoForm,
    DirectorySearchForm,
    OptionalReasonForm,
    ReasonForm,
    RejectForm,
    RequestStatusFilterForm,
    request_initial,
)
from practitioners.models import Accreditation, AccreditationRequest, PracticeSite
from practitioners.psc_prefill import psc_prefill_from_session
from practitioners.selectors import (
    accreditations_of,
    can_decide_practice_site,
    can_manage_practitioner,
    can_review_request,
    current_accreditation,
    directory_search,
    latest_accreditation,
    may_use_directory,
    open_request_of,
    practice_sites_of,
    practitioner_history,
    practitioner_managed_by,
    practitioner_of,
    reference_for,
    request_history,
    request_review_queue,
    request_visible_to,
    requests_of,
    sites_decidable_by,
)
from practitioners.services import (
    accreditation_reinstate,
    accreditation_renew,
    accreditation_request_approve,
    accreditation_request_ask_info,
    accreditation_request_provide_info,
    accreditation_request_reject,
    accreditation_request_renewal,
    accreditation_request_submit,
    accreditation_revoke,
    accreditation_suspend,
    practice_site_end,
    practice_site_reinstate,
)

PAGE_SIZE = 25


# --- The applicant ---------------------------------------------------------------------------


@require_GET
@login_required
def my_accreditation(request: HttpRequest) -> HttpResponse:
    """The signed-in user's accreditation, practice sites, requests and history."""
    user = _user(request)
    practitioner = practitioner_of(user=user)
    context: dict[str, Any] = {
        "practitioner": practitioner,
        "requests": list(requests_of(user=user)),
        "open_request": open_request_of(user=user),
    }
    if practitioner is not None:
        context.update(
            accreditation=current_accreditation(practitioner=practitioner),
            latest=latest_accreditation(practitioner=practitioner),
            sites=list(practice_sites_of(practitioner=practitioner)),
            history=list(practitioner_history(practitioner=practitioner)),
        )
    return render(request, "practitioners/my_accreditation.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    """The accreditation request form; its checks are the service's."""
    user = _user(request)
    existing = open_request_of(user=user)
    if existing is not None:
        messages.info(request, _("Vous avez déjà une demande d'habilitation en cours."))
        return redirect("practitioners:request_detail", pk=existing.pk)
    if request.method == "POST":
        form = AccreditationRequestForm(request.POST)
        if form.is_valid():
            try:
                created = accreditation_request_submit(
                    user=user, data=form.data_for_service(), base_url=_base_url(request)
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request,
                    _(
                        "Votre demande d'habilitation est transmise. Vous recevrez un e-mail à "
                        "chaque étape de son examen."
                    ),
                )
                return redirect("practitioners:request_detail", pk=created.pk)
    else:
        form = AccreditationRequestForm(
            initial=request_initial(user=user, prefill=psc_prefill_from_session(request))
        )
    return render(request, "practitioners/request_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_required
def request_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant answers the reviewer's question."""
    accreditation_request = get_object_or_404(AccreditationRequest, pk=pk, user=_user(request))
    if accreditation_request.status != AccreditationRequest.Status.INFO_REQUESTED:
        messages.info(request, _("Aucun complément n'est attendu sur cette demande."))
        return redirect("practitioners:request_detail", pk=pk)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accreditation_request_provide_info(
                request=accreditation_request,
                user=_user(request),
                answer=form.cleaned_data["answer"],
                base_url=_base_url(request),
            )
        except ValidationError as error:
            form.add_error(None, _messages_of(error))
        else:
            messages.success(request, _("Votre réponse est transmise ; la demande est réexaminée."))
            return redirect("practitioners:request_detail", pk=pk)
    return render(
        request,
        "practitioners/request_answer.html",
        {"accreditation_request": accreditation_request, "form": form},
    )


@require_POST
@login_required
def renewal_request(request: HttpRequest) -> HttpResponse:
    """The practitioner asks their reviewers to renew the accreditation in force."""
    user = _user(request)
    practitioner = practitioner_of(user=user)
    accreditation = current_accreditation(practitioner=practitioner) if practitioner else None
    if accreditation is None:
        raise Http404
    try:
        asked = accreditation_request_renewal(
            accreditation=accreditation, user=user, base_url=_base_url(request)
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        if asked:
            messages.success(request, _("Votre demande de renouvellement est transmise."))
        else:
            messages.info(request, _("Vous avez déjà demandé ce renouvellement."))
    return redirect("practitioners:my_accreditation")


# --- Reviewers: requests ---------------------------------------------------------------------


@require_GET
@role_required(Role.REFERENT, Role.REGIONAL_ADMIN)
def request_list(request: HttpRequest) -> HttpResponse:
    """The requests naming the reviewer's establishments (all of them for regional admins)."""
    form = RequestStatusFilterForm(request.GET)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    page = Paginator(request_review_queue(user=_user(request), status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "practitioners/request_list.html", {"form": form, "page": page})


def _visible_request(request: HttpRequest, pk: int) -> AccreditationRequest:
    found = request_visible_to(user=_user(request), pk=pk)
    if found is None:
        raise Http404
    return found


def _detail_context(request: HttpRequest, accreditation_request: AccreditationRequest) -> dict:
    user = _user(request)
    reviewer = can_review_request(user=user, request=accreditation_request)
    context: dict[str, Any] = {
        "accreditation_request": accreditation_request,
        "sites": list(accreditation_request.sites.all()),
        "history": list(request_history(request=accreditation_request)),
        "is_applicant": accreditation_request.user_id == user.pk,
        "is_reviewer": reviewer,
        "decidable": [],
    }
    if reviewer:
        context["decidable"] = sites_decidable_by(user=user, request=accreditation_request)
        context["reference"] = reference_for(
            identifier_type=accreditation_request.identifier_type,
            identifier=accreditation_request.identifier,
        )
        practitioner = accreditation_request.practitioner
        if practitioner is not None:
            context["past_accreditations"] = list(accreditations_of(practitioner=practitioner))
            context["can_manage"] = can_manage_practitioner(user=user, practitioner=practitioner)
        context.setdefault("reject_form", RejectForm())
        context.setdefault("ask_form", AskInfoForm())
    return context


@require_GET
@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    accreditation_request = _visible_request(request, pk)
    return render(
        request,
        "practitioners/request_detail.html",
        _detail_context(request, accreditation_request),
    )


def _reviewed_request(request: HttpRequest, pk: int) -> AccreditationRequest:
    accreditation_request = _visible_request(request, pk)
    if not can_review_request(user=_user(request), request=accreditation_request):
        raise PermissionDenied
    return accreditation_request


@require_POST
@login_required
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    accreditation_request = _reviewed_request(request, pk)
    try:
        updated = accreditation_request_approve(
            request=accreditation_request, reviewer=_user(request), base_url=_base_url(request)
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        if updated.status == AccreditationRequest.Status.APPROVED:
            messages.success(request, _("Demande approuvée : l'habilitation est accordée."))
        else:
            messages.success(
                request, _("Lieu d'exercice approuvé ; d'autres lieux attendent leur décision.")
            )
    return redirect("practitioners:request_detail", pk=pk)


def _form_error_page(
    request: HttpRequest, accreditation_request: AccreditationRequest, **forms: Any
) -> HttpResponse:
    context = _detail_context(request, accreditation_request)
    context.update(forms)
    return render(request, "practitioners/request_detail.html", context)


@require_POST
@login_required
def request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    accreditation_request = _reviewed_request(request, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _form_error_page(request, accreditation_request, reject_form=form)
    try:
        updated = accreditation_request_reject(
            request=accreditation_request,
            reviewer=_user(request),
            reason=form.cleaned_data["reason"],
            base_url=_base_url(request),
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        if updated.status == AccreditationRequest.Status.REJECTED:
            messages.success(request, _("Demande refusée ; le demandeur en est informé."))
        else:
            messages.success(request, _("Lieu d'exercice refusé."))
    return redirect("practitioners:request_detail", pk=pk)


@require_POST
@login_required
def request_ask_info(request: HttpRequest, pk: int) -> HttpResponse:
    accreditation_request = _reviewed_request(request, pk)
    form = AskInfoForm(request.POST)
    if not form.is_valid():
        return _form_error_page(request, accreditation_request, ask_form=form)
    try:
        accreditation_request_ask_info(
            request=accreditation_request,
            reviewer=_user(request),
            message=form.cleaned_data["message"],
            base_url=_base_url(request),
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(request, _("Complément demandé ; le demandeur en est informé."))
    return redirect("practitioners:request_detail", pk=pk)


# --- Reviewers: a practitioner's accreditation and sites -------------------------------------


def _managed(request: HttpRequest, pk: int) -> Any:
    practitioner = practitioner_managed_by(user=_user(request), pk=pk)
    if practitioner is None:
        raise Http404
    return practitioner


@require_GET
@login_required
def practitioner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    practitioner = _managed(request, pk)
    user = _user(request)
    sites = list(practice_sites_of(practitioner=practitioner))
    return render(
        request,
        "practitioners/practitioner_detail.html",
        {
            "practitioner": practitioner,
            "accreditations": list(accreditations_of(practitioner=practitioner)),
            "sites": [
                {"site": site, "decidable": can_decide_practice_site(user=user, site=site)}
                for site in sites
            ],
            "history": list(practitioner_history(practitioner=practitioner)),
            "reason_form": ReasonForm(),
            "comment_form": OptionalReasonForm(),
        },
    )


ACCREDITATION_ACTIONS = {
    "suspendre": "suspend",
    "retablir": "reinstate",
    "revoquer": "revoke",
    "renouveler": "renew",
}


@require_POST
@login_required
def accreditation_action(request: HttpRequest, pk: int, accreditation_pk: int, action: str) -> Any:
    """Suspend, reinstate, revoke or renew one of the practitioner's accreditations."""
    practitioner = _managed(request, pk)
    accreditation = get_object_or_404(Accreditation, pk=accreditation_pk, practitioner=practitioner)
    operation = ACCREDITATION_ACTIONS.get(action)
    if operation is None:
        raise Http404
    by, base_url = _user(request), _base_url(request)
    reason = request.POST.get("reason", "")
    try:
        if operation == "suspend":
            accreditation_suspend(
                accreditation=accreditation, by=by, reason=reason, base_url=base_url
            )
            messages.success(request, _("Habilitation suspendue, avec effet immédiat."))
        elif operation == "reinstate":
            accreditation_reinstate(
                accreditation=accreditation, by=by, reason=reason, base_url=base_url
            )
            messages.success(request, _("Habilitation rétablie."))
        elif operation == "revoke":
            accreditation_revoke(
                accreditation=accreditation, by=by, reason=reason, base_url=base_url
            )
            messages.success(request, _("Habilitation révoquée, avec effet immédiat."))
        else:
            renewed = accreditation_renew(accreditation=accreditation, by=by, base_url=base_url)
            messages.success(
                request,
                _("Habilitation renouvelée jusqu'au %(day)s.")
                % {"day": renewed.valid_until.strftime("%d/%m/%Y")},
            )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    return redirect("practitioners:practitioner_detail", pk=pk)


@require_POST
@login_required
def practice_site_action(request: HttpRequest, pk: int, site_pk: int, action: str) -> Any:
    """The referent's decision on a suspended site: reinstate it, or end it."""
    practitioner = _managed(request, pk)
    site = get_object_or_404(
        PracticeSite.objects.select_related("practitioner", "establishment"),
        pk=site_pk,
        practitioner=practitioner,
    )
    if not can_decide_practice_site(user=_user(request), site=site):
        raise PermissionDenied
    reason = request.POST.get("reason", "").strip()
    try:
        if action == "retablir":
            practice_site_reinstate(site=site, by=_user(request), reason=reason)
            messages.success(request, _("Lieu d'exercice rétabli."))
        elif action == "terminer":
            practice_site_end(site=site, by=_user(request), reason=reason)
            messages.success(request, _("Lieu d'exercice terminé."))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    return redirect("practitioners:practitioner_detail", pk=pk)


# --- The practitioner directory --------------------------------------------------------------


@require_GET
@login_required
def directory(request: HttpRequest) -> HttpResponse:
    """Accredited practitioners and how to reach them; results alone for HTMX requests."""
    if not may_use_directory(_user(request)):
        raise PermissionDenied
    form = DirectorySearchForm(request.GET)
    page = Paginator(directory_search(**form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "query_string": _query_without_page(request)}
    if getattr(request, "htmx", False):
        return render(request, "practitioners/_directory_results.html", context)
    return render(request, "practitioners/directory.html", context)


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
