"""Reads of the access app. None of these decides access: they find candidates, which views
then pass to ``access.decision.decide_many`` (and so to the trail) before showing anything."""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from access.models import AccessGrant, BreakGlassAccess, Opposition
from establishments.models import Establishment, Membership
from imaging.models import Patient, PatientIdentifier
from portal.models import User
from portal.roles import Role
from practitioners.models import Accreditation, PracticeSite, Practitioner
from practitioners.selectors import directory_search

# Fewer letters would list most of the region's practitioners.
SHARE_SEARCH_MIN_LENGTH = 2


def practitioner_in_force(*, user: Any) -> Practitioner | None:
    """``user``'s practitioner record if an accreditation of theirs is in force today."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Practitioner.objects.filter(
        user=user, accreditations__in=Accreditation.objects.active()
    ).first()


def care_team_establishment_ids(*, user: Any) -> set[int]:
    """Establishments whose care team ``user`` belongs to (active site, accreditation in force)."""
    if practitioner_in_force(user=user) is None:
        return set()
    return set(
        PracticeSite.objects.filter(
            practitioner__user=user,
            status=PracticeSite.Status.ACTIVE,
            establishment__isnull=False,
        ).values_list("establishment_id", flat=True)
    )


def establishments_knowing(*, patient: Patient) -> QuerySet[Establishment]:
    """The establishments that produced imaging for ``patient`` (hold an identifier of theirs)."""
    return Establishment.objects.filter(
        pk__in=PatientIdentifier.objects.filter(patient_record=patient).values("establishment_id")
    ).order_by("name")


def _referent_establishment_ids(user: Any) -> set[int]:
    return set(
        Membership.objects.active()
        .filter(user=user, role=Membership.Role.REFERENT)
        .values_list("establishment_id", flat=True)
    )


def sharing_establishments(*, user: Any, patient: Patient) -> list[Establishment]:
    """Producing establishments on whose behalf ``user`` may share ``patient`` or record their
    opposition: those whose care team they belong to, or whose referent they are."""
    if not getattr(user, "is_authenticated", False):
        return []
    allowed = care_team_establishment_ids(user=user) | _referent_establishment_ids(user)
    return [e for e in establishments_knowing(patient=patient) if e.pk in allowed]


def referent_establishments_knowing(*, user: Any, patient: Patient) -> list[Establishment]:
    """Producing establishments of ``patient`` that ``user`` is a referent of."""
    if not getattr(user, "is_authenticated", False):
        return []
    referent_of = _referent_establishment_ids(user)
    return [e for e in establishments_knowing(patient=patient) if e.pk in referent_of]


@dataclass(frozen=True)
class StaffSharing:
    """What ``user`` may do on the staff sharing screens of one patient."""

    # Producing establishments on whose behalf they share; none: the screens are closed.
    establishments: list[Establishment]
    # Those of them they are a referent of: they record and withdraw the opposition.
    referent_of: list[Establishment]


def staff_sharing(*, user: Any, patient: Patient) -> StaffSharing:
    """``user``'s rights on the staff sharing screens of ``patient`` (four queries at most):
    the care team or a referent of a producing establishment, never the patient (the patient
    manages their own sharing on the patient portal)."""
    if not getattr(user, "is_authenticated", False) or is_the_patient(user=user, patient=patient):
        return StaffSharing(establishments=[], referent_of=[])
    referent_of = _referent_establishment_ids(user)
    allowed = care_team_establishment_ids(user=user) | referent_of
    knowing = list(establishments_knowing(patient=patient))
    return StaffSharing(
        establishments=[e for e in knowing if e.pk in allowed],
        referent_of=[e for e in knowing if e.pk in referent_of],
    )


def share_candidates(*, user: Any, query: str, limit: int = 20) -> list[Practitioner]:
    """Practitioners with an accreditation in force whose name matches ``query`` (the
    practitioner directory's search), ``user`` excepted: whom staff may share a patient with.
    At most ``limit + 1`` rows, so the caller can tell the list was cut."""
    words = query.strip()
    if len(words) < SHARE_SEARCH_MIN_LENGTH:
        return []
    return list(directory_search(query=words).exclude(user_id=user.pk)[: limit + 1])


def live_record(patient: Patient) -> Patient:
    """The record ``patient`` was merged into, through every merge; itself if never merged."""
    seen = {patient.pk}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        seen.add(patient.merged_into_id)
        patient = Patient.objects.get(pk=patient.merged_into_id)
    return patient


def is_the_patient(*, user: Any, patient: Patient) -> bool:
    return bool(getattr(user, "is_authenticated", False) and patient.user_id == user.pk)


def active_opposition(*, patient: Patient) -> Opposition | None:
    return Opposition.objects.active().filter(patient=patient).first()


def oppositions_of(*, patient: Patient) -> QuerySet[Opposition]:
    """Every opposition of ``patient``, the latest first (at most one is in force), with who
    recorded and withdrew it."""
    return (
        Opposition.objects.filter(patient=patient)
        .select_related("recorded_by", "withdrawn_by")
        .order_by("-recorded_at", "-id")
    )


def active_grant(*, practitioner: Practitioner, patient: Patient) -> AccessGrant | None:
    return (
        AccessGrant.objects.active()
        .filter(practitioner=practitioner, patient=patient)
        .order_by("-valid_until")
        .first()
    )


def grants_of_patient(*, patient: Patient) -> QuerySet[AccessGrant]:
    """Every grant on ``patient``, the latest first, with who holds and who gave it."""
    return (
        AccessGrant.objects.filter(patient=patient)
        .select_related("practitioner", "granted_by", "revoked_by", "establishment")
        .order_by("-valid_from", "-id")
    )


@dataclass(frozen=True)
class GrantRow:
    """A grant as the screens show it: ``state`` is active, suspended (by the opposition),
    upcoming, revoked or expired."""

    grant: AccessGrant
    state: str

    @property
    def revocable(self) -> bool:
        return self.state in ("active", "suspended", "upcoming")


def _grant_state(grant: AccessGrant, *, opposed: bool, now: datetime.datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.valid_until <= now:
        return "expired"
    if grant.valid_from > now:
        return "upcoming"
    return "suspended" if opposed else "active"


def grant_rows(*, patient: Patient, opposed: bool) -> list[GrantRow]:
    """Every grant on ``patient``, newest first, with its state."""
    now = timezone.now()
    return [
        GrantRow(grant, _grant_state(grant, opposed=opposed, now=now))
        for grant in grants_of_patient(patient=patient)
    ]


def grants_given_by(*, user: User) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(granted_by=user)
        .select_related("practitioner", "patient", "establishment")
        .order_by("-valid_from", "-id")
    )


def grants_held_by(*, user: User) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(practitioner__user=user)
        .select_related("patient", "granted_by", "establishment")
        .order_by("-valid_from", "-id")
    )


def can_manage_grants_of(*, user: Any, patient: Patient) -> bool:
    """Whether ``user`` may give or revoke grants on ``patient``: the patient, or staff of a
    producing establishment (its care team or referent)."""
    return is_the_patient(user=user, patient=patient) or bool(
        sharing_establishments(user=user, patient=patient)
    )


def can_manage_opposition_of(*, user: Any, patient: Patient) -> bool:
    """Whether ``user`` may record or withdraw ``patient``'s opposition: the patient, or a
    referent of a producing establishment (at the patient's request)."""
    return is_the_patient(user=user, patient=patient) or bool(
        referent_establishments_knowing(user=user, patient=patient)
    )


def can_revoke_grant(*, user: Any, grant: AccessGrant) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return grant.granted_by_id == user.pk or can_manage_grants_of(user=user, patient=grant.patient)


def candidate_patients(*, user: Any) -> QuerySet[Patient]:
    """Patients ``user`` may have a right on: known at their care-team establishments, or under
    a grant or an emergency access in force. Views decide each one before showing it."""
    practitioner = practitioner_in_force(user=user)
    if practitioner is None:
        return Patient.objects.none()
    now = timezone.now()
    team = care_team_establishment_ids(user=user)
    return (
        Patient.objects.filter(
            Q(identifiers__establishment_id__in=team)
            | Q(
                pk__in=AccessGrant.objects.active(now)
                .filter(practitioner=practitioner)
                .values("patient_id")
            )
            | Q(
                pk__in=BreakGlassAccess.objects.active(now)
                .filter(user_id=user.pk)
                .values("patient_id")
            ),
            merged_into__isnull=True,
        )
        .distinct()
        .order_by("patient_name", "pk")
    )


def _fold(text: str) -> str:
    """Upper case without accents, hyphens or extra spaces: how names are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.upper().replace("-", " ").replace("'", " ").split())


def _name_parts(patient_name: str) -> tuple[str, str]:
    family, _, rest = patient_name.partition("^")
    given = rest.split("^", 1)[0]
    return _fold(family), _fold(given)


def find_patients(
    *,
    ins: str = "",
    last_name: str = "",
    first_name: str = "",
    birth_date: datetime.date | None = None,
) -> list[Patient]:
    """Exact search: by INS, or by last name (and first name if given) with the birth date.

    Names compare without case or accents. The result is candidates only: the caller decides
    each one and never shows a refused patient.
    """
    if ins:
        return list(Patient.objects.filter(ins=ins, merged_into__isnull=True))
    if not (last_name and birth_date):
        return []
    wanted_family, wanted_given = _fold(last_name), _fold(first_name)
    matches = []
    for patient in Patient.objects.filter(patient_birth_date=birth_date, merged_into__isnull=True):
        family, given = _name_parts(patient.patient_name)
        if family == wanted_family and (not wanted_given or given == wanted_given):
            matches.append(patient)
    return matches


def break_glass_queue(*, review: str = "") -> QuerySet[BreakGlassAccess]:
    """Emergency accesses for the auditors' review, the pending and the oldest first."""
    queryset = BreakGlassAccess.objects.select_related(
        "practitioner", "user", "reviewed_by"
    ).order_by("opened_at", "id")
    if review:
        queryset = queryset.filter(review=review)
    return queryset


def break_glass_of_user(*, user: User) -> QuerySet[BreakGlassAccess]:
    return BreakGlassAccess.objects.filter(user=user).order_by("-opened_at", "-id")


def active_break_glass(*, user: Any, patient: Patient) -> BreakGlassAccess | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        BreakGlassAccess.objects.active()
        .filter(user=user, patient=patient)
        .order_by("-expires_at")
        .first()
    )


def unacknowledged_break_glass(*, patient: Patient) -> QuerySet[BreakGlassAccess]:
    """Emergency accesses the patient has not yet been told about (shown at their next visit)."""
    return (
        BreakGlassAccess.objects.filter(patient=patient, patient_acknowledged_at__isnull=True)
        .select_related("practitioner")
        .order_by("-opened_at")
    )


def auditors() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.AUDITOR.value).distinct()
