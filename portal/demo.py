"""The demonstration region, built by ``manage.py seed_demo``.

Each app owns its part in its own ``demo.py`` (found like admin modules) and registers it with
``@seed_step(order)``; steps run in ascending order, in one transaction, and each is
idempotent: running the command twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEMO_PASSWORD = "portail-demo-2026"  # noqa: S105 - published in README for the demo only

SeedFunction = Callable[[Callable[[str], None]], None]


@dataclass(frozen=True)
class SeedStep:
    order: int
    name: str
    function: SeedFunction


_steps: dict[str, SeedStep] = {}


def seed_step(order: int) -> Callable[[SeedFunction], SeedFunction]:
    """Register ``function(log)`` as a step of the demo; ``log`` prints one line."""

    def decorator(function: SeedFunction) -> SeedFunction:
        name = f"{function.__module__}.{function.__name__}"
        _steps[name] = SeedStep(order=order, name=name, function=function)
        return function

    return decorator


def seed_steps() -> list[SeedStep]:
    return sorted(_steps.values(), key=lambda step: (step.order, step.name))


def demo_user(email: str, first_name: str, last_name: str) -> Any:
    """The demo account ``email``, created verified with ``DEMO_PASSWORD`` if it is missing."""
    from portal.models import User
    from portal.services import user_create

    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        return existing
    return user_create(
        email=email,
        password=DEMO_PASSWORD,
        first_name=first_name,
        last_name=last_name,
        email_verified=True,
    )


@seed_step(order=10)
def seed_regional_roles(log: Callable[[str], None]) -> None:
    """The regional administrator (health agency) and the auditor (e-health group's DPO)."""
    from portal.roles import Role
    from portal.services import user_grant_group_role

    admin = demo_user("admin@ars.demo", "Claire", "Martin")
    user_grant_group_role(user=admin, role=Role.REGIONAL_ADMIN)
    auditor = demo_user("auditeur@gcs.demo", "Paul", "Lefèvre")
    user_grant_group_role(user=auditor, role=Role.AUDITOR)
    log("administration régionale et audit : 2 comptes")
