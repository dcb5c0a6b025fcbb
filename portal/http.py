"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest

from portal.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views already behind a sign-in or role check."""
    user = request.user
    assert isinstance(user, User)
    return user


def base_url(request: HttpRequest) -> str:
    """The portal's address as this request reached it, for links in e-mails."""
    return request.build_absolute_uri("/")


def error_text(error: ValidationError) -> str:
    """A service's refusal as one line for a flash message."""
    return " ".join(str(message) for message in error.messages)


def form_add_errors(
    form: Form, error: ValidationError, *, field_of: Mapping[str, str] | None = None
) -> None:
    """A service's refusal on ``form``: on the field it names (renamed by ``field_of``) when
    the form has that field, else on the whole form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        field = (field_of or {}).get(key, key)
        form.add_error(field if field in form.fields else None, errors)


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer's address as the server saw it (the reverse proxy sets REMOTE_ADDR)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
