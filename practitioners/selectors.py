"""Reads on practitioners, practice sites, accreditations and accreditation requests.

Who may review what is decided here (the views and the API ask, never decide themselves):
- a request is reviewed site by site: the referents of a member establishment decide the sites
  at their establishment, the regional administrators decide city practices and may act on
  every site; nobody reviews their own request;
- a practitioner's accreditation is managed by the referents of the establishments where they
  practise (a non-ended practice site) and by the regional administrators.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from establishments.models import Establishment, Membership
from portal.models import User
from portal.roles import Role, has_role, is_regional_admin
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    IdentifierType,
    PracticeSite,
    Practitioner,
    PractitionerReference,
)

# --- Practitioners and their accreditation ---------------------------------------------------


def practitioner_of(*, user: User) -> Practitioner | None:
    """The practitioner record of ``user``, if any."""
    return Practitioner.objects.filter(user=user).first()


def practitioner_for_identifier(*, identifier_type: str, identifier: str) -> Practitioner | None:
    """The practitioner known by this RPPS or ADELI number, if any."""
    field = "rpps" if identifier_type == IdentifierType.RPPS else "adeli"
    return Practitioner.objects.filter(**{field: identifier}).select_related("user").first()


def current_accreditation(*, practitioner: Practitioner) -> Accreditation | None:
    """The accreditation in force today, the one ending last if several overlap."""
    return (
        Accreditation.objects.active()
        .filter(practitioner=practitioner)
        .order_by("-valid_until")
        .first()
    )


def latest_accreditation(*, practitioner: Practitioner) -> Accreditation | None:
    """The practitioner's accreditation ending last, whatever its status."""
    return Accreditation.objects.filter(practitioner=practitioner).order_by("-valid_until").first()


def accreditations_of(*, practitioner: Practitioner) -> QuerySet[Accreditation]:
    """Every accreditation of ``practitioner``, the latest first."""
    return Accreditation.objects.filter(practitioner=practitioner).order_by("-valid_until", "-id")


def accredited_practitioner_count() -> int:
    return (
        Practitioner.objects.filter(accreditations__in=Accreditation.objects.active())
        .distinct()
        .count()
    )


def _in_force() -> Exists:
    return Exists(Accreditation.objects.active().filter(practitioner=OuterRef("pk")))


# --- Practice sites and care teams -----------------------------------------------------------


def practice_sites_at(*, establishment: Establishment) -> QuerySet[PracticeSite]:
    """Practice sites at ``establishment`` that have not ended (active or suspended)."""
    return (
        PracticeSite.objects.filter(establishment=establishment)
        .exclude(status=PracticeSite.Status.ENDED)
        .select_related("practitioner")
    )


def practice_sites_of(*, practitioner: Practitioner) -> QuerySet[PracticeSite]:
    """Where ``practitioner`` practises or practised, the current sites first."""
    return (
        PracticeSite.objects.filter(practitioner=practitioner)
        .select_related("establishment")
        .order_by("status", "establishment__name", "practice_name")
    )


def care_team_at(*, establishment: Establishment) -> QuerySet[Practitioner]:
    """The establishment's care team: an active practice site there and an accreditation in
    force today."""
    return Practitioner.objects.filter(
        _in_force(),
        practice_sites__establishment=establishment,
        practice_sites__status=PracticeSite.Status.ACTIVE,
    ).distinct()


def is_in_care_team(*, user: User, establishment: Establishment) -> bool:
    """Whether ``user`` belongs to ``establishment``'s care team now (one query)."""
    return (
        Accreditation.objects.active()
        .filter(
            practitioner__user=user,
            practitioner__practice_sites__establishment=establishment,
            practitioner__practice_sites__status=PracticeSite.Status.ACTIVE,
        )
        .exists()
    )


def member_establishments() -> QuerySet[Establishment]:
    """Establishments a practitioner may name as a practice site: members of the network."""
    return Establishment.objects.filter(status=Establishment.Status.MEMBER).order_by("name")


def referent_establishment_ids(*, user: User) -> set[int]:
    """Ids of the establishments ``user`` is a referent of now."""
    return set(
        Membership.objects.active()
        .filter(user=user, role=Membership.Role.REFERENT)
        .values_list("establishment_id", flat=True)
    )


# --- The reference extract -------------------------------------------------------------------


def reference_for(*, identifier_type: str, identifier: str) -> PractitionerReference | None:
    """The reference entry of this RPPS or ADELI number, if the extract holds it."""
    field = "rpps" if identifier_type == IdentifierType.RPPS else "adeli"
    return PractitionerReference.objects.filter(**{field: identifier}).first()


def normalised_name(name: str) -> str:
    """A name reduced for comparison: no accents, no case, letters and digits only.

    "Hélène-Marie d'Arc" and "HELENE MARIE DARC" compare equal.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if char.isalnum()).casefold()


def names_match(reference: str, declared: str) -> bool:
    """Whether a declared name is the reference's, ignoring case, accents and punctuation."""
    return normalised_name(reference) == normalised_name(declared)


# --- Accreditation requests ------------------------------------------------------------------


def open_request_of(*, user: User) -> AccreditationRequest | None:
    """The user's request still under review, if any."""
    return (
        AccreditationRequest.objects.filter(
            user=user, status__in=AccreditationRequest.OPEN_STATUSES
        )
        .order_by("-created_at")
        .first()
    )


def open_request_for_identifier(
    *, identifier_type: str, identifier: str
) -> AccreditationRequest | None:
    return AccreditationRequest.objects.filter(
        identifier_type=identifier_type,
        identifier=identifier,
        status__in=AccreditationRequest.OPEN_STATUSES,
    ).first()


def requests_of(*, user: User) -> QuerySet[AccreditationRequest]:
    """Requests ``user`` made, the latest first, with their sites."""
    return (
        AccreditationRequest.objects.filter(user=user)
        .prefetch_related(_sites_prefetch())
        .order_by("-created_at")
    )


def _sites_prefetch() -> Prefetch:
    return Prefetch(
        "sites",
        queryset=AccreditationRequestSite.objects.select_related("establishment").order_by("id"),
    )


def requests_reviewable_by(*, user: User) -> QuerySet[AccreditationRequest]:
    """Requests ``user`` may see and act on as a reviewer (never their own)."""
    queryset = AccreditationRequest.objects.exclude(user=user)
    if not is_regional_admin(user):
        establishment_ids = referent_establishment_ids(user=user)
        if not establishment_ids:
            return AccreditationRequest.objects.none()
        queryset = queryset.filter(
            Exists(
                AccreditationRequestSite.objects.filter(
                    request=OuterRef("pk"), establishment_id__in=establishment_ids
                )
            )
        )
    return queryset.select_related("user").prefetch_related(_sites_prefetch())


def request_review_queue(*, user: User, status: str = "") -> QuerySet[AccreditationRequest]:
    """The reviewer's list: open requests first, then decided ones, the oldest open first."""
    queryset = requests_reviewable_by(user=user)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.annotate(
        open_first=Case(
            When(status__in=AccreditationRequest.OPEN_STATUSES, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).order_by("-open_first", "created_at")


def request_visible_to(*, user: User, pk: int) -> AccreditationRequest | None:
    """The request ``pk`` if ``user`` made it or may review it; None otherwise (answer 404)."""
    own = AccreditationRequest.objects.filter(pk=pk, user=user)
    found = own.select_related("user").prefetch_related(_sites_prefetch()).first()
    if found is not None:
        return found
    return requests_reviewable_by(user=user).filter(pk=pk).first()


def can_review_request(*, user: User, request: AccreditationRequest) -> bool:
    """Whether ``user`` is a reviewer of ``request`` (a referent of a named establishment, or a
    regional administrator), and not its applicant."""
    if request.user_id == user.pk:
        return False
    if is_regional_admin(user):
        return True
    establishment_ids = referent_establishment_ids(user=user)
    return any(site.establishment_id in establishment_ids for site in request.sites.all())


def sites_decidable_by(
    *, user: User, request: AccreditationRequest
) -> list[AccreditationRequestSite]:
    """The pending sites of ``request`` whose decision belongs to ``user``."""
    if request.user_id == user.pk:
        return []
    pending = [
        site
        for site in request.sites.all()
        if site.decision == AccreditationRequestSite.Decision.PENDING
    ]
    if is_regional_admin(user):
        return pending
    establishment_ids = referent_establishment_ids(user=user)
    return [site for site in pending if site.establishment_id in establishment_ids]


def referents_of(*, establishment_ids: Iterable[int | None]) -> QuerySet[User]:
    """Active referents of these establishments."""
    ids = {pk for pk in establishment_ids if pk is not None}
    return User.objects.filter(
        is_active=True,
        memberships__establishment_id__in=ids,
        memberships__role=Membership.Role.REFERENT,
        memberships__ended_at__isnull=True,
    ).distinct()


def regional_admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.REGIONAL_ADMIN.value).distinct()


def reviewers_of_sites(*, sites: Iterable[AccreditationRequestSite]) -> list[User]:
    """Who decides these sites: the establishments' referents; the regional administrators
    for city practices (and for an establishment that has no referent yet)."""
    sites = list(sites)
    establishment_ids = [site.establishment_id for site in sites if site.establishment_id]
    referents = list(referents_of(establishment_ids=establishment_ids))
    covered = set(
        Membership.objects.active()
        .filter(
            establishment_id__in=establishment_ids,
            role=Membership.Role.REFERENT,
            user__is_active=True,
        )
        .values_list("establishment_id", flat=True)
    )
    needs_admins = any(
        site.establishment_id is None or site.establishment_id not in covered for site in sites
    )
    reviewers = {user.pk: user for user in referents}
    if needs_admins:
        reviewers.update({user.pk: user for user in regional_admins()})
    return list(reviewers.values())


def request_history(*, request: AccreditationRequest) -> QuerySet[AccreditationEvent]:
    """The request's events, oldest first."""
    return (
        AccreditationEvent.objects.filter(request=request)
        .select_related("actor")
        .order_by("created_at", "id")
    )


# --- Managing a practitioner (suspension, revocation, renewal, site decisions) ---------------


def can_manage_practitioner(*, user: User, practitioner: Practitioner) -> bool:
    """Regional administrators, and referents of an establishment where the practitioner has a
    practice site that has not ended; never the practitioner themselves."""
    if practitioner.user_id is not None and practitioner.user_id == user.pk:
        return False
    if is_regional_admin(user):
        return True
    establishment_ids = referent_establishment_ids(user=user)
    return (
        PracticeSite.objects.filter(
            practitioner=practitioner, establishment_id__in=establishment_ids
        )
        .exclude(status=PracticeSite.Status.ENDED)
        .exists()
    )


def practitioner_managed_by(*, user: User, pk: int) -> Practitioner | None:
    """The practitioner ``pk`` if ``user`` may manage them; None otherwise (answer 404)."""
    practitioner = Practitioner.objects.filter(pk=pk).select_related("user").first()
    if practitioner is None or not can_manage_practitioner(user=user, practitioner=practitioner):
        return None
    return practitioner


def can_decide_practice_site(*, user: User, site: PracticeSite) -> bool:
    """Referents of the site's establishment and regional administrators decide on a site."""
    if site.practitioner.user_id is not None and site.practitioner.user_id == user.pk:
        return False
    if is_regional_admin(user):
        return True
    return site.establishment_id in referent_establishment_ids(user=user)


def practitioner_reviewers(*, practitioner: Practitioner) -> list[User]:
    """Who manages ``practitioner``: the referents of their current establishments, and the
    regional administrators when they also (or only) practise in town."""
    sites = list(practice_sites_of(practitioner=practitioner).exclude(status="ended"))
    establishment_ids = [site.establishment_id for site in sites if site.establishment_id]
    reviewers = {user.pk: user for user in referents_of(establishment_ids=establishment_ids)}
    if not reviewers or any(site.establishment_id is None for site in sites):
        reviewers.update({user.pk: user for user in regional_admins()})
    return list(reviewers.values())


def practitioner_history(*, practitioner: Practitioner) -> QuerySet[AccreditationEvent]:
    """Every event of the practitioner: requests, accreditations and sites, oldest first."""
    return (
        AccreditationEvent.objects.filter(
            Q(practitioner=practitioner) | Q(request__practitioner=practitioner)
        )
        .select_related("actor", "practice_site__establishment")
        .order_by("created_at", "id")
    )


# --- Scheduled work --------------------------------------------------------------------------


def accreditations_due_for_reminder(*, today: datetime.date, days: int) -> QuerySet[Accreditation]:
    """Accreditations in force ending within ``days`` days, not yet reminded, and not already
    followed by a later accreditation (a renewal)."""
    later = Accreditation.objects.filter(
        practitioner=OuterRef("practitioner"),
        status=Accreditation.Status.ACTIVE,
        valid_until__gt=OuterRef("valid_until"),
    )
    return Accreditation.objects.filter(
        ~Exists(later),
        status=Accreditation.Status.ACTIVE,
        reminder_sent_at__isnull=True,
        valid_from__lte=today,
        valid_until__gte=today,
        valid_until__lte=today + datetime.timedelta(days=days),
    )


def accreditations_past_end(*, today: datetime.date) -> QuerySet[Accreditation]:
    """Active accreditations whose last valid day is before ``today``."""
    return Accreditation.objects.filter(status=Accreditation.Status.ACTIVE, valid_until__lt=today)


# --- The practitioner directory --------------------------------------------------------------


def may_use_directory(user: User) -> bool:
    """The directory is for accredited practitioners, referents and regional administrators."""
    return has_role(user, Role.PRACTITIONER, Role.REFERENT, Role.REGIONAL_ADMIN)


def directory_search(
    *, query: str = "", specialty: str = "", establishment: Establishment | int | None = None
) -> QuerySet[Practitioner]:
    """Accredited practitioners (in force today), with their active practice sites loaded.

    ``query`` matches the first or last name (every word must match one of them).
    """
    queryset = Practitioner.objects.filter(_in_force())
    for word in query.split():
        queryset = queryset.filter(Q(last_name__icontains=word) | Q(first_name__icontains=word))
    if specialty:
        queryset = queryset.filter(specialty_code=specialty)
    if establishment:
        queryset = queryset.filter(
            Exists(
                PracticeSite.objects.filter(
                    practitioner=OuterRef("pk"),
                    establishment=establishment,
                    status=PracticeSite.Status.ACTIVE,
                )
            )
        )
    active_sites = PracticeSite.objects.filter(status=PracticeSite.Status.ACTIVE).select_related(
        "establishment"
    )
    return queryset.prefetch_related(
        Prefetch("practice_sites", queryset=active_sites, to_attr="active_sites")
    ).order_by("last_name", "first_name", "id")
