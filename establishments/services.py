"""Writes on establishments and memberships."""

from __future__ import annotations

from django.db import transaction

from establishments.models import Establishment
from portal.models import User


@transaction.atomic
def establishment_set_status(
    *, establishment: Establishment, status: str, by: User | None = None
) -> Establishment:
    """Move an establishment to ``status`` (prospect, member, suspended, left).

    Billing calls this when an order becomes active or ends; regional admins when they suspend.
    """
    if status not in Establishment.Status.values:
        raise ValueError(f"unknown establishment status: {status}")
    if establishment.status != status:
        establishment.status = status
        establishment.save(update_fields=["status", "updated_at"])
    return establishment
