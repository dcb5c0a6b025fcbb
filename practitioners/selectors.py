"""Reads on practitioners and accreditations."""

from __future__ import annotations

from portal.models import User
from practitioners.models import Accreditation, Practitioner


def practitioner_of(*, user: User) -> Practitioner | None:
    """The practitioner record of ``user``, if any."""
    return Practitioner.objects.filter(user=user).first()


def current_accreditation(*, practitioner: Practitioner) -> Accreditation | None:
    """The accreditation in force today, the one ending last if several overlap."""
    return (
        Accreditation.objects.active()
        .filter(practitioner=practitioner)
        .order_by("-valid_until")
        .first()
    )


def accredited_practitioner_count() -> int:
    return (
        Practitioner.objects.filter(accreditations__in=Accreditation.objects.active())
        .distinct()
        .count()
    )
