"""Pages of the imaging app: archive sources (referents, regional administrators), study
volumes (regional administrators), and linking patient records (referents).

Views only translate: every permission decision is a selector (``archive_source_for``,
``identifier_for``...) that answers None, and the view a 404, when the object is not the
user's to see.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from imaging import selectors, services
from imaging.forms import (
    ArchiveSourceForm,
    IdentitySearchForm,
    PatientLinkForm,
    PatientUnlinkForm,
)
from imaging.models import ArchiveSource
from imaging.orthanc import OrthancClient, OrthancError
from portal.roles import Role, has_role, role_required

ARCHIVE_ROLES = (Role.REFERENT, Role.REGIONAL_ADMIN)


def _source_or_404(request: HttpRequest, pk: int) -> ArchiveSource:
    source = selectors.archive_source_for(user=request.user, pk=pk)
    if source is None:
        raise Http404
    return source


def _progress(request: HttpRequest, source: ArchiveSource) -> HttpResponse:
    return render(request, "imaging/_progress.html", {"source": source})


# --- Archive sources ---------------------------------------------------------------------------


@require_GET
@role_required(*ARCHIVE_ROLES)
def source_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "imaging/source_list.html",
        {
            "sources": list(selectors.archive_sources_for(user=request.user)),
            "unconnected": list(selectors.establishments_without_archive_for(user=request.user)),
            "show_volumes": has_role(request.user, Role.REGIONAL_ADMIN),
            "show_identities": has_role(request.user, Role.REFERENT),
        },
    )


@require_GET
@role_required(*ARCHIVE_ROLES)
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source_or_404(request, pk)
    return render(
        request,
        "imaging/source_detail.html",
        {
            "source": source,
            "report": selectors.report_for_display(source.last_report),
            "reconcile_report": selectors.report_for_display(source.last_reconcile_report),
        },
    )


@role_required(*ARCHIVE_ROLES)
def source_create(request: HttpRequest, establishment_pk: int) -> HttpResponse:
    establishment = selectors.establishment_for_new_archive(user=request.user, pk=establishment_pk)
    if establishment is None:
        raise Http404
    form = ArchiveSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.archive_source_create(
                establishment=establishment, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Archive connectée ; la première synchronisation suit."))
            return redirect("imaging:source_detail", pk=source.pk)
    return render(
        request,
        "imaging/source_form.html",
        {"form": form, "establishment": establishment, "source": None},
    )


@role_required(*ARCHIVE_ROLES)
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source_or_404(request, pk)
    initial = {
        "base_url": source.base_url,
        "username": source.username,
        "enabled": source.enabled,
        "callback_username": source.callback_username,
        "viewer_url": source.viewer_url,
    }
    form = ArchiveSourceForm(
        request.POST or None,
        initial=initial,
        has_password=source.has_password,
        has_callback_password=bool(source.callback_password_hash),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.archive_source_update(source=source, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Configuration de l'archive enregistrée."))
            return redirect("imaging:source_detail", pk=source.pk)
    return render(
        request,
        "imaging/source_form.html",
        {"form": form, "establishment": source.establishment, "source": source},
    )


def _connection_result(
    request: HttpRequest, client: OrthancClient | None, error: str
) -> HttpResponse:
    result: Any = services.archive_connection_test(client=client) if client else None
    return render(request, "imaging/_connection_test.html", {"result": result, "error": error})


@require_POST
@role_required(*ARCHIVE_ROLES)
def connection_test(request: HttpRequest) -> HttpResponse:
    """ "Tester la connexion" on a new archive: the typed address and credentials."""
    form = ArchiveSourceForm(request.POST)
    if not form.connection_valid():
        return _connection_result(
            request, None, _("Complétez l'adresse, l'utilisateur et le mot de passe.")
        )
    data = form.cleaned_data
    return _connection_result(
        request, OrthancClient(data["base_url"], data["username"], data["password"]), ""
    )


@require_POST
@role_required(*ARCHIVE_ROLES)
def source_connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Tester la connexion" on an existing archive. The stored password is only sent to the
    stored address: a changed address needs the password typed again."""
    source = _source_or_404(request, pk)
    form = ArchiveSourceForm(request.POST, has_password=source.has_password)
    if not form.connection_valid():
        return _connection_result(request, None, _("Complétez l'adresse et l'utilisateur."))
    data = form.cleaned_data
    if data["password"]:
        client = OrthancClient(data["base_url"], data["username"], data["password"])
    elif data["base_url"] != source.base_url:
        return _connection_result(
            request, None, _("L'adresse a changé : saisissez le mot de passe pour la tester.")
        )
    else:
        try:
            client = services.archive_source_client(source, username=data["username"])
        except OrthancError as exc:
            return _connection_result(request, None, exc.message)
    return _connection_result(request, client, "")


@require_POST
@role_required(*ARCHIVE_ROLES)
def source_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source_or_404(request, pk)
    services.archive_source_request_sync(source=source)
    source.refresh_from_db()
    if request.htmx:  # type: ignore[attr-defined]
        return _progress(request, source)
    messages.info(request, _("Synchronisation demandée."))
    return redirect("imaging:source_detail", pk=source.pk)


@require_GET
@role_required(*ARCHIVE_ROLES)
def source_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return _progress(request, _source_or_404(request, pk))


@require_GET
@role_required(Role.REGIONAL_ADMIN)
def study_volumes(request: HttpRequest) -> HttpResponse:
    return render(request, "imaging/volumes.html", {"table": selectors.study_volume_by_month()})


# --- Patient records ---------------------------------------------------------------------------


def _identifier_or_404(request: HttpRequest, pk: int) -> Any:
    identifier = selectors.identifier_for(user=request.user, pk=pk)
    if identifier is None:
        raise Http404
    return identifier


@require_GET
@role_required(Role.REFERENT)
def identity_search(request: HttpRequest) -> HttpResponse:
    form = IdentitySearchForm(request.GET or None)
    establishments = list(selectors.referent_establishments(user=request.user).order_by("name"))
    results = []
    if form.is_valid() and form.cleaned_data["q"]:
        for establishment in establishments:
            results += selectors.identifiers_for(
                establishment=establishment, query=form.cleaned_data["q"]
            )
    return render(
        request,
        "imaging/identity_search.html",
        {"form": form, "results": results, "establishments": establishments},
    )


def _identity_page(request: HttpRequest, identifier: Any, **forms: Any) -> HttpResponse:
    return render(
        request,
        "imaging/identity_detail.html",
        {
            "identifier": identifier,
            "patient": identifier.patient_record,
            "identifiers": selectors.record_identifiers(identifier=identifier),
            "events": selectors.link_events_for(patient_pk=identifier.patient_record_id),
            "link_form": forms.get("link_form") or PatientLinkForm(),
            "unlink_form": forms.get("unlink_form") or PatientUnlinkForm(),
        },
    )


@require_GET
@role_required(Role.REFERENT)
def identity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _identity_page(request, _identifier_or_404(request, pk))


@require_POST
@role_required(Role.REFERENT)
def identity_link(request: HttpRequest, pk: int) -> HttpResponse:
    identifier = _identifier_or_404(request, pk)
    form = PatientLinkForm(request.POST)
    if form.is_valid():
        other = selectors.identifier_by_issuer(
            finess_eg=form.cleaned_data["finess_eg"], patient_id=form.cleaned_data["patient_id"]
        )
        if other is None:
            form.add_error(
                None, _("Aucun dossier ne porte cet identifiant dans cet établissement.")
            )
        else:
            try:
                services.patient_link(
                    patient=identifier.patient_record,
                    other=other.patient_record,
                    by=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Dossiers rapprochés."))
                return redirect("imaging:identity_detail", pk=identifier.pk)
    return _identity_page(request, identifier, link_form=form)


@require_POST
@role_required(Role.REFERENT)
def identity_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    """Separate an identifier (``separate`` in the form: one of the record's identifiers)
    from the record of identifier ``pk``."""
    identifier = _identifier_or_404(request, pk)
    form = PatientUnlinkForm(request.POST)
    target = next(
        (
            item
            for item in selectors.record_identifiers(identifier=identifier)
            if str(item.pk) == request.POST.get("separate")
        ),
        None,
    )
    if target is None:
        raise Http404
    if form.is_valid():
        try:
            services.patient_unlink(
                identifier=target,
                by=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Dossiers séparés."))
            return redirect("imaging:identity_detail", pk=identifier.pk)
    return _identity_page(request, identifier, unlink_form=form)
