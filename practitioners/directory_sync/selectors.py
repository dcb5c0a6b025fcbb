"""Reads on telephony directories, for the pages, the command and the task. Who may configure
a directory is decided here (regional administrators: all; referents: their establishment's)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from establishments.models import Establishment
from portal.models import User
from portal.roles import is_regional_admin
from practitioners.models import PracticeSite, TelephonyDirectory
from practitioners.selectors import referent_establishment_ids


def can_configure_directory(*, user: User, establishment: Establishment) -> bool:
    """Regional administrators configure every directory, referents their establishment's."""
    return is_regional_admin(user) or establishment.pk in referent_establishment_ids(user=user)


def establishment_for_directory(*, user: User, pk: int) -> Establishment | None:
    """Establishment ``pk`` with its directory loaded, if ``user`` may configure it; else None
    (the view answers 404, so other establishments' existence does not leak)."""
    establishment = (
        Establishment.objects.select_related("telephony_directory").filter(pk=pk).first()
    )
    if establishment is None or not can_configure_directory(user=user, establishment=establishment):
        return None
    return establishment


def directory_establishments_for(*, user: User) -> QuerySet[Establishment]:
    """The establishments whose directory ``user`` may configure, directories loaded: every
    member (or already configured) establishment for regional administrators, their own for
    referents."""
    queryset = Establishment.objects.select_related("telephony_directory").order_by("name", "pk")
    if is_regional_admin(user):
        return queryset.filter(
            Q(status=Establishment.Status.MEMBER) | Q(telephony_directory__isnull=False)
        )
    return queryset.filter(pk__in=referent_establishment_ids(user=user))


def directory_of(*, establishment: Establishment) -> TelephonyDirectory | None:
    return TelephonyDirectory.objects.filter(establishment=establishment).first()


def pending_leavers(*, establishment: Establishment) -> QuerySet[PracticeSite]:
    """Practice sites suspended because their practitioner left the directory, awaiting the
    referent's decision."""
    return (
        PracticeSite.objects.filter(
            establishment=establishment, is_leaver=True, status=PracticeSite.Status.SUSPENDED
        )
        .select_related("practitioner")
        .order_by("practitioner__last_name", "practitioner__first_name", "pk")
    )


def directories_to_sync() -> QuerySet[TelephonyDirectory]:
    """Enabled directories, for the beat task and ``sync_directory``."""
    return (
        TelephonyDirectory.objects.filter(enabled=True)
        .select_related("establishment")
        .order_by("establishment__name", "pk")
    )


def directory_for_finess(*, finess: str) -> tuple[Establishment | None, TelephonyDirectory | None]:
    """The establishment of FINESS (géographique, or juridique when it names one establishment)
    and its directory."""
    finess = finess.strip()
    establishment = Establishment.objects.filter(finess_eg=finess).first()
    if establishment is None:
        matches = list(Establishment.objects.filter(finess_ej=finess)[:2])
        establishment = matches[0] if len(matches) == 1 else None
    if establishment is None:
        return None, None
    return establishment, directory_of(establishment=establishment)
