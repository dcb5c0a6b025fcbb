"""How allauth behaves on this portal."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        # Someone who signs up in English keeps English.
        user.preferred_language = translation.get_language() or "fr"
        return super().save_user(request, user, form, commit=commit)
