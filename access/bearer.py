"""The bearer of a viewer token as the archive's callback reads it at every request: the
token's fields and its user's, in plain objects built from one row. A model instance costs
more to build than the statement that reads it, on the path the archive takes for every
image it serves.

A ``BearerUser`` answers what ``access.decide`` and the trace ask of a user (``pk``,
``is_authenticated``, ``email``); it is not a ``User`` and is never saved.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def as_datetime(value: Any) -> datetime.datetime | None:
    # PostgreSQL hands back an aware datetime; SQLite a naive one in UTC, or text.
    if value is None:
        return None
    parsed = value if isinstance(value, datetime.datetime) else parse_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


@dataclass(frozen=True)
class BearerUser:
    pk: int
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_authenticated: ClassVar[bool] = True

    @property
    def id(self) -> int:
        return self.pk


@dataclass
class Bearer:
    """A viewer token and its user (``access.token_models.ViewerToken``'s fields)."""

    pk: int
    study_id: int | None
    created_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    user: BearerUser

    @property
    def user_id(self) -> int:
        return self.user.pk


def bearer_of_row(row: Sequence[Any]) -> Bearer:
    """The bearer of a row of the columns ``t.id, t.study_id, t.created_at, t.expires_at,
    t.revoked_at, t.last_used_at, u.id, u.email, u.first_name, u.last_name, u.is_active``."""
    pk, study_id, created, expires, revoked, last_used, user_id, email, first, last, active = row
    return Bearer(
        pk=pk,
        study_id=study_id,
        # NOT NULL columns: never None.
        created_at=cast(datetime.datetime, as_datetime(created)),
        expires_at=cast(datetime.datetime, as_datetime(expires)),
        revoked_at=as_datetime(revoked),
        last_used_at=as_datetime(last_used),
        user=BearerUser(
            pk=user_id, email=email, first_name=first, last_name=last, is_active=bool(active)
        ),
    )
