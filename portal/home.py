"""Panels of the home page, one or more per role.

Apps register the panels they own (``register_home_panel`` in ``AppConfig.ready``); the home
view shows, in order, the panels of the roles the signed-in user holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from portal.roles import Role, roles_of

PanelContext = Callable[[HttpRequest], dict[str, Any]]


@dataclass(frozen=True)
class HomePanel:
    role: Role | None  # None: shown to signed-in users who hold no role yet
    template: str
    order: int = 100
    context: PanelContext | None = None


_panels: dict[str, HomePanel] = {}


def register_home_panel(
    name: str,
    *,
    role: Role | None,
    template: str,
    order: int = 100,
    context: PanelContext | None = None,
) -> None:
    _panels[name] = HomePanel(role=role, template=template, order=order, context=context)


def panels_for(request: HttpRequest) -> list[dict[str, Any]]:
    """The panels to show ``request.user``, each as ``{"template", "context"}``."""
    roles = roles_of(request.user)
    chosen = [
        panel
        for panel in _panels.values()
        if (panel.role in roles) or (panel.role is None and not roles)
    ]
    chosen.sort(key=lambda panel: panel.order)
    return [
        {"template": panel.template, "context": panel.context(request) if panel.context else {}}
        for panel in chosen
    ]
