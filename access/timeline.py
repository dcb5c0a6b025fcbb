"""Reads for the practitioner's screens: a patient's imaging timeline, the imaging physicians to
call at the producing establishment, and when the rights a decision relied on end.

Like ``access.selectors``, nothing here decides access: the views pass what they read to
``access.decision.decide_many`` and show only what it grants.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from access.decision import Decision
from access.models import AccessGrant, BreakGlassAccess
from imaging.models import ImagingStudy, Patient
from practitioners.models import Accreditation, PracticeSite, Specialty

# ImagingStudy has no reading-physician field: beside a study we show the physicians who read
# imaging at the producing establishment (radiologists, and nuclear-medicine physicians for
# PET and scintigraphy).
IMAGING_SPECIALTIES: tuple[str, ...] = (
    Specialty.RADIO_DIAGNOSTIC,
    Specialty.RADIOLOGY,
    Specialty.NUCLEAR_MEDICINE,
)


def patient_studies(*, patient: Patient) -> QuerySet[ImagingStudy]:
    """The patient's studies still in their archive, at every establishment, newest first
    (studies without a date last), with their producing establishment."""
    return (
        ImagingStudy.objects.present()
        .filter(patient=patient)
        .select_related("establishment")
        .order_by(
            F("study_date").desc(nulls_last=True),
            F("study_time").desc(nulls_last=True),
            "-id",
        )
    )


@dataclass(frozen=True)
class DirectoryContact:
    """An imaging physician of an establishment and how to reach them there."""

    name: str
    specialty: str
    department: str
    phone: str
    mobile: str


def imaging_contacts(*, establishment_ids: Iterable[int]) -> dict[int, list[DirectoryContact]]:
    """For each establishment, its imaging physicians in the care team (an active practice site
    there, an accreditation in force), by name, with the phones of the telephony directory (the
    practice site's, synced from LDAP), else those of the practitioner's record. One query."""
    wanted = set(establishment_ids)
    if not wanted:
        return {}
    sites = (
        PracticeSite.objects.filter(
            Exists(Accreditation.objects.active().filter(practitioner_id=OuterRef("practitioner"))),
            establishment_id__in=wanted,
            status=PracticeSite.Status.ACTIVE,
            practitioner__specialty_code__in=IMAGING_SPECIALTIES,
        )
        .select_related("practitioner")
        .order_by("practitioner__last_name", "practitioner__first_name", "pk")
    )
    contacts: dict[int, list[DirectoryContact]] = {pk: [] for pk in wanted}
    for site in sites:
        person = site.practitioner
        assert site.establishment_id is not None  # filtered above
        contacts[site.establishment_id].append(
            DirectoryContact(
                name=str(person),
                specialty=person.specialty_label,
                department=site.department,
                phone=site.phone or person.phone,
                mobile=site.mobile or person.mobile,
            )
        )
    return contacts


@dataclass(frozen=True)
class RightEnds:
    """When the grants and emergency accesses that decisions relied on end, by their id."""

    grants: dict[int, datetime.datetime]
    break_glass: dict[int, datetime.datetime]


def right_ends(*, decisions: Iterable[Decision]) -> RightEnds:
    """The end of each grant and emergency access that granted ``decisions``: two queries at
    most."""
    decisions = list(decisions)
    grant_ids = {d.grant_id for d in decisions if d.granted and d.grant_id is not None}
    emergency_ids = {
        d.break_glass_id for d in decisions if d.granted and d.break_glass_id is not None
    }
    grants = (
        dict(AccessGrant.objects.filter(pk__in=grant_ids).values_list("pk", "valid_until"))
        if grant_ids
        else {}
    )
    emergencies = (
        dict(BreakGlassAccess.objects.filter(pk__in=emergency_ids).values_list("pk", "expires_at"))
        if emergency_ids
        else {}
    )
    return RightEnds(grants=grants, break_glass=emergencies)


@dataclass(frozen=True)
class RightsSummary:
    grants: int
    emergencies: int


def rights_summary(*, user: Any) -> RightsSummary:
    """How many grants ``user`` holds and emergency accesses they opened, in force now."""
    now = timezone.now()
    return RightsSummary(
        grants=AccessGrant.objects.active(now).filter(practitioner__user_id=user.pk).count(),
        emergencies=BreakGlassAccess.objects.active(now).filter(user_id=user.pk).count(),
    )
