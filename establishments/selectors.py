"""Reads on establishments and memberships."""

from __future__ import annotations

import hashlib

from allauth.account.models import EmailAddress
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from establishments.models import (
    DirectorApplication,
    Establishment,
    EstablishmentStatusChange,
    FinessEntry,
    Invitation,
    Membership,
)
from portal.models import User
from portal.roles import Role, is_regional_admin


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


# --- Establishments, for regional administrators and members ---------------------------------


def establishment_filter(
    queryset: QuerySet[Establishment],
    *,
    query: str = "",
    status: str = "",
    kind: str = "",
    department: str = "",
) -> QuerySet[Establishment]:
    """Narrow ``queryset`` by a free-text ``query`` (every word must match the name, a FINESS
    number or the city) and by status, kind and department."""
    for term in query.split():
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(finess_eg__startswith=term)
            | Q(finess_ej__startswith=term)
            | Q(city__icontains=term)
        )
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if department:
        queryset = queryset.filter(department__iexact=department)
    return queryset


def establishment_search(
    *, query: str = "", status: str = "", kind: str = "", department: str = ""
) -> QuerySet[Establishment]:
    """Establishments matching ``query`` and the filters (see ``establishment_filter``).

    Each row carries ``member_count`` (active memberships), computed in the same query so a
    list page costs one query whatever its length.
    """
    queryset = Establishment.objects.annotate(
        member_count=Count("memberships", filter=Q(memberships__ended_at__isnull=True))
    )
    return establishment_filter(
        queryset, query=query, status=status, kind=kind, department=department
    ).order_by("name", "id")


def establishment_members(*, establishment: Establishment) -> QuerySet[Membership]:
    """Every active member of an establishment (directors, referents, staff), users loaded."""
    return (
        Membership.objects.active()
        .filter(establishment=establishment)
        .select_related("user")
        .order_by("role", "user__last_name", "user__first_name", "id")
    )


def establishment_status_history(
    *, establishment: Establishment
) -> QuerySet[EstablishmentStatusChange]:
    """The establishment's status moves, newest first, with who made them."""
    return establishment.status_changes.select_related("changed_by").order_by("-changed_at", "-id")


def member_establishments(*, user: User) -> QuerySet[Establishment]:
    """Establishments ``user`` directs or is referent of now (what "Mon établissement" shows)."""
    return (
        Establishment.objects.filter(
            memberships__user=user,
            memberships__role__in=[Membership.Role.DIRECTOR, Membership.Role.REFERENT],
            memberships__ended_at__isnull=True,
        )
        .distinct()
        .order_by("name", "id")
    )


def establishments_visible_to(*, user: User) -> QuerySet[Establishment]:
    """What the API lets ``user`` read: every establishment for regional administrators, the
    establishments they direct or refer otherwise (nothing for anyone else)."""
    if is_regional_admin(user):
        return Establishment.objects.order_by("name", "id")
    return member_establishments(user=user)


# --- Director sign-up --------------------------------------------------------------------------

FINESS_SEARCH_MIN_LENGTH = 3


def finess_search(*, query: str, limit: int = 10) -> list[FinessEntry]:
    """Geographic establishments of the FINESS reference matching ``query``.

    Every word must match the name, short name, FINESS number or city; fewer than three
    characters find nothing (the reference holds about a hundred thousand rows). Closed
    entries are included, after the open ones, so the page can show them as closed.
    """
    query = query.strip()
    if len(query) < FINESS_SEARCH_MIN_LENGTH:
        return []
    queryset = FinessEntry.objects.filter(level=FinessEntry.Level.SITE)
    for term in query.split():
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(short_name__icontains=term)
            | Q(finess__startswith=term)
            | Q(city__icontains=term)
        )
    return list(queryset.order_by(F("closed_on").asc(nulls_first=True), "name", "finess")[:limit])


def finess_entry_for(*, finess: str) -> FinessEntry | None:
    """The geographic FINESS reference entry of a number, if imported."""
    return FinessEntry.objects.filter(finess=finess, level=FinessEntry.Level.SITE).first()


def has_open_application(*, user: User, finess_eg: str) -> bool:
    """Whether ``user`` already has a declaration awaiting review for this FINESS."""
    return DirectorApplication.objects.filter(
        applicant=user, finess_eg=finess_eg, status=DirectorApplication.Status.SUBMITTED
    ).exists()


def applications_of(*, user: User) -> QuerySet[DirectorApplication]:
    """``user``'s own declarations, newest first."""
    return DirectorApplication.objects.filter(applicant=user).order_by("-created_at", "-id")


def _active_director_exists() -> Exists:
    return Exists(
        Membership.objects.active().filter(
            establishment__finess_eg=OuterRef("finess_eg"), role=Membership.Role.DIRECTOR
        )
    )


def director_applications(*, status: str = "") -> QuerySet[DirectorApplication]:
    """Declarations for the review queue (all when ``status`` is empty), oldest first.

    Each row carries ``has_active_director``: the declared FINESS already has a director in the
    network, which the administrator must weigh before approving.
    """
    queryset = DirectorApplication.objects.select_related("applicant").annotate(
        has_active_director=_active_director_exists()
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("created_at", "id")


def submitted_application_count() -> int:
    """How many declarations await a decision."""
    return DirectorApplication.objects.filter(status=DirectorApplication.Status.SUBMITTED).count()


def pending_applications_for(*, establishment: Establishment) -> QuerySet[DirectorApplication]:
    """Declarations awaiting review that name ``establishment``'s FINESS."""
    return (
        DirectorApplication.objects.filter(
            finess_eg=establishment.finess_eg, status=DirectorApplication.Status.SUBMITTED
        )
        .select_related("applicant")
        .order_by("created_at", "id")
    )


def establishment_for_finess(*, finess_eg: str) -> Establishment | None:
    """The network's establishment with this FINESS géographique, if it exists."""
    return Establishment.objects.filter(finess_eg=finess_eg).first()


def active_directors_for_finess(*, finess_eg: str) -> QuerySet[Membership]:
    """Current directors of the establishment with this FINESS (none if it is not in the
    network yet)."""
    return (
        Membership.objects.active()
        .filter(establishment__finess_eg=finess_eg, role=Membership.Role.DIRECTOR)
        .select_related("user")
        .order_by("user__last_name", "id")
    )


def regional_admins() -> QuerySet[User]:
    """Active members of the regional administrators' group (who hears of new declarations)."""
    return User.objects.filter(is_active=True, groups__name=Role.REGIONAL_ADMIN.value).distinct()


# --- Invitations --------------------------------------------------------------------------------


def invitation_token_hash(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(*, token: str) -> Invitation | None:
    """The invitation an e-mailed token opens, whatever its state (or None if unknown)."""
    return (
        Invitation.objects.select_related("establishment", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )


def pending_invitations(*, establishment: Establishment) -> QuerySet[Invitation]:
    """Invitations of ``establishment`` still waiting for an answer."""
    return (
        Invitation.objects.pending()
        .filter(establishment=establishment)
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def user_has_verified_email(*, user: User, email: str) -> bool:
    """Whether ``email`` is one of ``user``'s verified addresses (case-insensitive)."""
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_refusal(*, invitation: Invitation, user: User) -> tuple[str, str] | None:
    """Why ``user`` may not accept ``invitation``, as ``(code, French message)``, or None.

    The order matters: a used or revoked invitation says so even once past its date.
    """
    if invitation.accepted_at is not None:
        return "accepted", str(_("Cette invitation a déjà été utilisée."))
    if invitation.revoked_at is not None:
        return "revoked", str(
            _("Cette invitation a été annulée par la direction de l'établissement.")
        )
    if invitation.is_expired:
        return "expired", str(
            _(
                "Cette invitation a expiré le %(date)s. Demandez à la direction de "
                "l'établissement de vous en envoyer une nouvelle."
            )
            % {"date": date_format(timezone.localtime(invitation.expires_at))}
        )
    if not user_has_verified_email(user=user, email=invitation.email):
        return "wrong_email", str(
            _(
                "Cette invitation a été envoyée à une autre adresse que celles, vérifiées, de "
                "votre compte. Connectez-vous avec le compte de l'adresse invitée, ou ajoutez "
                "et vérifiez cette adresse dans votre compte."
            )
        )
    return None
