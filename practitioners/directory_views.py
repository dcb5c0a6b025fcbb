"""Pages of the telephony directory: the list of directories, and one establishment's
configuration page with its "Tester la connexion" (HTMX) and "Synchroniser maintenant" buttons.

Regional administrators reach every establishment; a referent only their own (another
establishment answers 404); other roles get 403. Who may act is decided by
``directory_sync.establishment_for_directory``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from establishments.models import Establishment
from portal.roles import Role, role_required
from practitioners.directory_forms import TelephonyDirectoryForm
from practitioners.directory_sync import (
    SyncReport,
    directory_establishments_for,
    directory_of,
    directory_sync,
    establishment_for_directory,
    pending_leavers,
    telephony_directory_save,
    telephony_directory_test_connection,
)
from practitioners.models import TelephonyDirectory, UnmatchedReason
from practitioners.telephony import DirectoryError

_MAY_CONFIGURE = (Role.REFERENT, Role.REGIONAL_ADMIN)


def _establishment_or_404(request: HttpRequest, pk: int) -> Establishment:
    establishment = establishment_for_directory(user=request.user, pk=pk)  # type: ignore[arg-type]
    if establishment is None:
        raise Http404
    return establishment


def _directory(establishment: Establishment) -> TelephonyDirectory | None:
    try:
        return establishment.telephony_directory
    except TelephonyDirectory.DoesNotExist:
        return None


def _page(
    request: HttpRequest,
    establishment: Establishment,
    form: TelephonyDirectoryForm,
    *,
    test: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    directory = _directory(establishment)
    report = SyncReport.from_json(directory.last_report) if directory else None
    return render(
        request,
        "practitioners/directory_sync/directory.html",
        {
            "establishment": establishment,
            "directory": directory,
            "form": form,
            "report": report if report and report.started_at else None,
            "reasons": dict(UnmatchedReason.choices),
            "unmatched_hidden": (report.unmatched_count - len(report.unmatched) if report else 0),
            "pending_leavers": list(pending_leavers(establishment=establishment)),
            "test": test,
        },
        status=status,
    )


@role_required(*_MAY_CONFIGURE)
@require_GET
def directory_list(request: HttpRequest) -> HttpResponse:
    establishments = list(directory_establishments_for(user=request.user))  # type: ignore[arg-type]
    rows = [
        {"establishment": establishment, "directory": _directory(establishment)}
        for establishment in establishments
    ]
    return render(request, "practitioners/directory_sync/list.html", {"rows": rows})


@role_required(*_MAY_CONFIGURE)
@require_http_methods(["GET", "POST"])
def directory_settings(request: HttpRequest, pk: int) -> HttpResponse:
    establishment = _establishment_or_404(request, pk)
    directory = _directory(establishment)
    if request.method != "POST":
        return _page(request, establishment, TelephonyDirectoryForm(directory=directory))
    form = TelephonyDirectoryForm(request.POST, directory=directory)
    if form.is_valid():
        try:
            telephony_directory_save(
                establishment=establishment,
                by=request.user,  # type: ignore[arg-type]
                **form.save_values(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("La configuration de l'annuaire est enregistrée."))
            return redirect("telephony:directory", pk=establishment.pk)
    return _page(request, establishment, form, status=400)


@role_required(*_MAY_CONFIGURE)
@require_POST
def directory_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Try the settings being typed (saved or not); HTMX swaps in the result only."""
    establishment = _establishment_or_404(request, pk)
    form = TelephonyDirectoryForm(request.POST, directory=_directory(establishment))
    test: dict[str, Any] = {"ok": False, "messages": []}
    if form.is_valid():
        try:
            check = telephony_directory_test_connection(
                establishment=establishment, **form.connection_values()
            )
        except ValidationError as error:
            form.add_error(None, error)
        except DirectoryError as error:
            test["messages"] = [error.message]
        else:
            test.update(ok=True, entries=check.entries, more=check.more)
    if not form.is_valid():
        test["messages"] = [
            f"{form.fields[name].label if name in form.fields else ''} : {message}".lstrip(" :")
            for name, errors in form.errors.items()
            for message in errors
        ]
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "practitioners/directory_sync/_test_result.html", {"test": test})
    return _page(request, establishment, form, test=test)


@role_required(*_MAY_CONFIGURE)
@require_POST
def directory_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    establishment = _establishment_or_404(request, pk)
    directory = directory_of(establishment=establishment)
    if directory is None:
        messages.error(request, _("Enregistrez d'abord la configuration de l'annuaire."))
        return redirect("telephony:directory", pk=establishment.pk)
    try:
        report = directory_sync(directory=directory)
    except DirectoryError as error:
        messages.error(
            request,
            _("La synchronisation a échoué, rien n'a été modifié : %(error)s")
            % {"error": error.message},
        )
    else:
        messages.success(
            request,
            _(
                "Synchronisation terminée : %(entries)s entrées lues, %(matched)s rapprochées, "
                "%(updated)s mises à jour, %(leavers)s départ(s) signalé(s)."
            )
            % {
                "entries": report.entries,
                "matched": report.matched,
                "updated": report.updated,
                "leavers": len(report.leavers),
            },
        )
    return redirect("telephony:directory", pk=establishment.pk)
