"""The account's API keys page (``/compte/cles-api/``): list one's own keys, create one (its
secret shown once, on the answer to the creation), revoke one.

Who may is ``portal.api_keys``'s (``api_keys_offered``, ``api_key_may_create``); someone
else's key answers 404. The page is never cached: the answer to a creation holds a secret.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.api_key_forms import ApiKeyForm
from portal.api_keys import (
    CreatedKey,
    api_key_create,
    api_key_for_owner,
    api_key_max_per_user,
    api_key_may_create,
    api_key_revoke,
    api_keys_of,
    api_keys_offered,
)
from portal.http import error_text, form_add_errors, signed_in_user


def _page(
    request: HttpRequest,
    *,
    form: ApiKeyForm | None = None,
    created: CreatedKey | None = None,
    status: int = 200,
) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "keys": api_keys_of(user=user),
        "form": form or ApiKeyForm(),
        "created": created,
        "may_create": api_key_may_create(user),
        "max_per_user": api_key_max_per_user(),
    }
    return render(request, "portal/api_keys.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list and the creation form; a valid creation answers with the key, once."""
    user = signed_in_user(request)
    if not api_keys_offered(user):
        raise PermissionDenied
    if request.method == "GET":
        return _page(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        created = api_key_create(
            user=user,
            name=form.cleaned_data["name"],
            lifetime_days=form.cleaned_data["lifetime_days"],
        )
    except ValidationError as error:
        form_add_errors(form, error)
        return _page(request, form=form, status=400)
    return _page(request, created=created)


@require_POST
@login_required
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    key = api_key_for_owner(user=request.user, pk=pk)
    if key is None:
        raise Http404
    try:
        api_key_revoke(key=key, by=signed_in_user(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            _("La clé « %(name)s » est révoquée : elle ne fonctionne plus.") % {"name": key.name},
        )
    return redirect("api-keys")
