"""Pages of the establishments app: the network for regional administrators, director sign-up,
"Mon établissement" for directors and referents, and invitations.

Views translate: they parse a form, call one selector or service, and render. Who may act is
decided by ``portal.roles`` and the selectors (``member_establishments``, ``is_director_of``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from establishments.forms import (
    ApplicationRejectForm,
    ApplicationStatusFilterForm,
    DirectorApplicationForm,
    EstablishmentFilterForm,
    EstablishmentStatusForm,
    InvitationForm,
    initial_from_finess_entry,
)
from establishments.models import PROOF_TYPES, DirectorApplication, Establishment
from establishments.selectors import (
    FINESS_SEARCH_MIN_LENGTH,
    active_directors_for_finess,
    applications_of,
    director_applications,
    establishment_for_finess,
    establishment_members,
    establishment_search,
    establishment_status_history,
    finess_entry_for,
    finess_search,
    invitation_by_token,
    invitation_refusal,
    is_director_of,
    member_establishments,
    pending_applications_for,
    pending_invitations,
)
from establishments.services import (
    closed_finess_error,
    director_application_approve,
    director_application_reject,
    director_application_submit,
    director_application_withdraw,
    establishment_change_status,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_end,
)
from portal.http import base_url as _base_url
from portal.http import error_text as _messages_of
from portal.http import signed_in_user as _user
from portal.roles import Role, role_required

PAGE_SIZE = 25


# --- Regional administrators: the network ----------------------------------------------------


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def establishment_list(request: HttpRequest) -> HttpResponse:
    form = EstablishmentFilterForm(request.GET)
    page = Paginator(establishment_search(**form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "establishments/establishment_list.html", {"form": form, "page": page})


def _detail_context(establishment: Establishment) -> dict[str, Any]:
    return {
        "establishment": establishment,
        "members": establishment_members(establishment=establishment),
        "applications": pending_applications_for(establishment=establishment),
        "history": establishment_status_history(establishment=establishment),
        "invitations": pending_invitations(establishment=establishment),
    }


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def establishment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    establishment = get_object_or_404(Establishment, pk=pk)
    context = _detail_context(establishment)
    context["status_form"] = EstablishmentStatusForm(establishment=establishment)
    return render(request, "establishments/establishment_detail.html", context)


@require_POST
@role_required(Role.REGIONAL_ADMIN)
def establishment_change_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    establishment = get_object_or_404(Establishment, pk=pk)
    form = EstablishmentStatusForm(request.POST, establishment=establishment)
    if form.is_valid():
        try:
            establishment_change_status(
                establishment=establishment,
                status=form.cleaned_data["status"],
                by=_user(request),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Le statut de l'établissement est désormais « %(status)s ».")
                % {"status": establishment.get_status_display()},
            )
            return redirect("establishments:detail", pk=establishment.pk)
    context = _detail_context(establishment)
    context["status_form"] = form
    return render(request, "establishments/establishment_detail.html", context, status=400)


# --- Regional administrators: the review queue -------------------------------------------------


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def application_list(request: HttpRequest) -> HttpResponse:
    form = ApplicationStatusFilterForm(request.GET)
    status = form.status()
    page = Paginator(director_applications(status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "establishments/application_list.html",
        {"form": form, "page": page, "status": status},
    )


def _application_context(application: DirectorApplication) -> dict[str, Any]:
    return {
        "application": application,
        "existing": establishment_for_finess(finess_eg=application.finess_eg),
        "directors": active_directors_for_finess(finess_eg=application.finess_eg),
        "finess_entry": application.finess_entry or finess_entry_for(finess=application.finess_eg),
    }


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(DirectorApplication.objects.select_related("applicant"), pk=pk)
    context = _application_context(application)
    context["reject_form"] = ApplicationRejectForm()
    return render(request, "establishments/application_detail.html", context)


@never_cache
@require_GET
@role_required(Role.REGIONAL_ADMIN)
def application_proof(request: HttpRequest, pk: int) -> FileResponse:
    """The proof, from private storage, as a download: never a public URL."""
    application = get_object_or_404(DirectorApplication, pk=pk)
    content_type = application.proof_content_type
    extension = next(
        (kind.extension for kind in PROOF_TYPES if kind.content_type == content_type), "bin"
    )
    try:
        handle = application.proof.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"justificatif-demande-{application.pk}.{extension}",
        content_type=application.proof_content_type,
    )


@require_POST
@role_required(Role.REGIONAL_ADMIN)
def application_approve(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(DirectorApplication, pk=pk)
    try:
        director_application_approve(
            application=application, reviewer=_user(request), base_url=_base_url(request)
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect("establishments:application_detail", pk=application.pk)
    messages.success(
        request,
        _("Demande approuvée : %(person)s dirige désormais %(name)s.")
        % {"person": application.applicant, "name": application.establishment},
    )
    return redirect("establishments:application_list")


@require_POST
@role_required(Role.REGIONAL_ADMIN)
def application_reject(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(DirectorApplication.objects.select_related("applicant"), pk=pk)
    form = ApplicationRejectForm(request.POST)
    if form.is_valid():
        try:
            director_application_reject(
                application=application,
                reviewer=_user(request),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            messages.error(request, _messages_of(error))
            return redirect("establishments:application_detail", pk=application.pk)
        messages.success(request, _("Demande refusée ; le demandeur en est informé."))
        return redirect("establishments:application_list")
    context = _application_context(application)
    context["reject_form"] = form
    return render(request, "establishments/application_detail.html", context, status=400)


# --- Director sign-up --------------------------------------------------------------------------


@require_GET
@login_required
def finess_search_view(request: HttpRequest) -> HttpResponse:
    """Autocomplete (HTMX): FINESS reference entries matching ``q``."""
    query = request.GET.get("q", "").strip()
    return render(
        request,
        "establishments/declare/_finess_results.html",
        {
            "query": query,
            "results": finess_search(query=query),
            "min_length": FINESS_SEARCH_MIN_LENGTH,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def declare(request: HttpRequest) -> HttpResponse:
    """Declare one's establishment: from the FINESS reference (``?finess=``) or by hand."""
    user = _user(request)
    status = 200
    chosen = None
    if request.method == "POST":
        form = DirectorApplicationForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                director_application_submit(
                    applicant=user,
                    finess_eg=data["finess_eg"],
                    finess_ej=data["finess_ej"],
                    siret=data["siret"],
                    name=data["name"],
                    kind=data["kind"],
                    address=data["address"],
                    postal_code=data["postal_code"],
                    city=data["city"],
                    finess_entry=data["finess_entry"],
                    function=data["function"],
                    proof=data["proof"],
                    base_url=_base_url(request),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _(
                        "Votre demande est envoyée. L'administration régionale va l'examiner ; "
                        "un e-mail vous confirme sa réception."
                    ),
                )
                return redirect("establishments:my_applications")
        status = 400
    else:
        form = DirectorApplicationForm(user=user)
        finess = request.GET.get("finess", "").strip()
        if finess:
            closed = closed_finess_error(finess_eg=finess)
            chosen = finess_entry_for(finess=finess)
            if closed is not None:
                messages.error(request, _messages_of(closed))
                chosen = None
            elif chosen is not None:
                form = DirectorApplicationForm(user=user, initial=initial_from_finess_entry(chosen))
        if chosen is not None and getattr(request, "htmx", False):
            return render(
                request,
                "establishments/declare/_establishment_fields.html",
                {"form": form, "chosen": chosen, "swap_results": True},
            )
    query = request.GET.get("q", "").strip()
    context = {
        "form": form,
        "chosen": chosen,
        "query": query,
        "results": finess_search(query=query) if query else None,
        "min_length": FINESS_SEARCH_MIN_LENGTH,
    }
    return render(request, "establishments/declare/declare.html", context, status=status)


@require_GET
@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "establishments/declare/my_applications.html",
        {"applications": applications_of(user=_user(request))},
    )


@require_POST
@login_required
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(applications_of(user=_user(request)), pk=pk)
    try:
        director_application_withdraw(application=application, by=_user(request))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(request, _("Votre demande est retirée."))
    return redirect("establishments:my_applications")


# --- Directors and referents: "Mon établissement" ---------------------------------------------


@require_GET
@role_required(Role.DIRECTOR, Role.REFERENT)
def mine(request: HttpRequest) -> HttpResponse:
    establishments = list(member_establishments(user=_user(request)))
    if len(establishments) == 1:
        return redirect("establishments:member_detail", pk=establishments[0].pk)
    return render(request, "establishments/member/mine.html", {"establishments": establishments})


def _member_establishment(request: HttpRequest, pk: int) -> Establishment:
    """The establishment ``pk`` if the user directs or refers it; 404 otherwise, so that its
    existence is not revealed to outsiders."""
    return get_object_or_404(member_establishments(user=_user(request)), pk=pk)


def _directed_establishment(request: HttpRequest, pk: int) -> Establishment:
    """As ``_member_establishment``, and 403 unless the user is one of its directors."""
    establishment = _member_establishment(request, pk)
    if not is_director_of(user=_user(request), establishment=establishment):
        raise PermissionDenied
    return establishment


def _render_member_detail(
    request: HttpRequest,
    establishment: Establishment,
    invitation_form: InvitationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    manages = is_director_of(user=_user(request), establishment=establishment)
    context: dict[str, Any] = {
        "establishment": establishment,
        "members": establishment_members(establishment=establishment),
        "manages": manages,
    }
    if manages:
        context["invitations"] = pending_invitations(establishment=establishment)
        context["invitation_form"] = invitation_form or InvitationForm()
    return render(request, "establishments/member/detail.html", context, status=status)


@require_GET
@role_required(Role.DIRECTOR, Role.REFERENT)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_member_detail(request, _member_establishment(request, pk))


@require_POST
@role_required(Role.DIRECTOR)
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    establishment = _directed_establishment(request, pk)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation_create(
                establishment=establishment,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=_user(request),
                base_url=_base_url(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Invitation envoyée à %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("establishments:member_detail", pk=establishment.pk)
    return _render_member_detail(request, establishment, invitation_form=form, status=400)


@require_POST
@role_required(Role.DIRECTOR)
def invitation_revoke_view(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    establishment = _directed_establishment(request, pk)
    invitation = get_object_or_404(establishment.invitations, pk=invitation_pk)
    try:
        invitation_revoke(invitation=invitation, by=_user(request))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(
            request, _("L'invitation de %(email)s est annulée.") % {"email": invitation.email}
        )
    return redirect("establishments:member_detail", pk=establishment.pk)


@require_POST
@role_required(Role.DIRECTOR)
def member_remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    establishment = _directed_establishment(request, pk)
    membership = get_object_or_404(
        establishment_members(establishment=establishment), pk=membership_pk
    )
    try:
        membership_end(membership=membership, by=_user(request))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(
            request,
            _("%(person)s ne fait plus partie de l'établissement (%(role)s).")
            % {
                "person": membership.user.get_full_name() or membership.user.email,
                "role": membership.get_role_display(),
            },
        )
    if membership.user_id == request.user.pk and membership.ended_at is not None:
        return redirect("home")
    return redirect("establishments:member_detail", pk=establishment.pk)


# --- Invitations, seen by the invited person ----------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation (GET) and accept it (POST); signing in first, then back here."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    invitation = invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    user = _user(request)
    refusal = invitation_refusal(invitation=invitation, user=user)
    if request.method == "POST" and refusal is None:
        try:
            invitation_accept(invitation=invitation, user=user)
        except ValidationError as error:
            refusal = (error.code or "", _messages_of(error))
        else:
            messages.success(
                request,
                _("Bienvenue : vous êtes désormais rattaché(e) à %(name)s.")
                % {"name": invitation.establishment.name},
            )
            return redirect("home")
    status = 200
    if refusal is not None:
        status = 403 if refusal[0] == "wrong_email" else 410
    return render(
        request,
        "establishments/invitation.html",
        {"invitation": invitation, "refusal": refusal[1] if refusal else None},
        status=status,
    )
