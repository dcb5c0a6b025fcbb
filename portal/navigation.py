"""The main navigation, by role. Apps add their entries in ``AppConfig.ready``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from portal.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: frozenset[Role]  # empty: every signed-in user
    order: int = 100


_items: dict[str, NavItem] = {}


def register_nav_item(
    url_name: str, *, label: str | Promise, roles: Iterable[Role] = (), order: int = 100
) -> None:
    _items[url_name] = NavItem(label=label, url_name=url_name, roles=frozenset(roles), order=order)


def navigation_for(request: HttpRequest, roles: frozenset[Role]) -> list[dict[str, Any]]:
    """Entries the user may follow, with the one matching the current page marked."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return []
    entries = []
    for item in sorted(_items.values(), key=lambda item: item.order):
        if item.roles and not (item.roles & roles):
            continue
        url = reverse(item.url_name)
        current = request.path == url if url == "/" else request.path.startswith(url)
        entries.append({"label": item.label, "url": url, "current": current})
    return entries
