"""Reads on establishments and memberships."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from establishments.models import Establishment, Membership
from portal.models import User


def memberships_of(*, user: User, roles: list[str] | None = None) -> QuerySet[Membership]:
    """The establishments ``user`` acts for, with the establishment loaded."""
    queryset = Membership.objects.active().filter(user=user).select_related("establishment")
    if roles:
        queryset = queryset.filter(role__in=roles)
    return queryset.order_by("establishment__name", "role")


def establishment_counts_by_status() -> dict[str, int]:
    """How many establishments stand at each status, every status present (0 when none)."""
    rows = Establishment.objects.values("status").annotate(count=Count("id"))
    counts = dict.fromkeys(Establishment.Status.values, 0)
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


def establishment_team(*, establishment: Establishment) -> QuerySet[Membership]:
    """Directors and referents of an establishment, for its home panel."""
    return (
        Membership.objects.active()
        .filter(
            establishment=establishment,
            role__in=[Membership.Role.DIRECTOR, Membership.Role.REFERENT],
        )
        .select_related("user")
        .order_by("role", "user__last_name")
    )


def directed_establishments(*, user: User) -> QuerySet[Establishment]:
    """Establishments ``user`` directs now."""
    return Establishment.objects.filter(
        memberships__user=user,
        memberships__role=Membership.Role.DIRECTOR,
        memberships__ended_at__isnull=True,
    ).distinct()


def is_director_of(*, user: User, establishment: Establishment) -> bool:
    """Whether ``user`` directs ``establishment`` now (the object-level check of directors)."""
    return (
        Membership.objects.active()
        .filter(user=user, establishment=establishment, role=Membership.Role.DIRECTOR)
        .exists()
    )
