"""Reads of the patient portal: my record, my exams, who looked at them, my grants.

Every function takes the patient from ``patient_of(user=...)``, never from an id the browser
sent: a patient can only ever reach their own record. Reading the exams or the history is a
read of patient data, decided by ``access.decide`` (rule "patient_self") and traced like any
other; the patient's own visits are left out of the history they are shown.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from access.decision import Target, decide, decide_many
from access.models import AccessGrant, BreakGlassAccess
from access.trail import with_merged_records
from audit.models import AccessEvent, Action, Channel, Rule
from establishments.models import Establishment
from imaging.models import ImagingStudy, Patient
from portal.models import User
from practitioners.models import PracticeSite, Practitioner

HISTORY_PURPOSE = "history"
# The history shows a year: French guidance keeps traces 6 months to 1 year.
HISTORY_DAYS = 366
HISTORY_MAX_EVENTS = 5000


def patient_of(*, user: Any) -> Patient | None:
    """The record ``user``'s account is tied to (one account, one record), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Patient.objects.filter(user_id=user.pk, merged_into__isnull=True).first()


def my_studies(
    *, user: User, patient: Patient, request: HttpRequest | None = None, channel: str = Channel.WEB
) -> list[ImagingStudy]:
    """The patient's studies at every establishment, newest first, each decided and traced."""
    studies = list(
        ImagingStudy.objects.present()
        .filter(patient=patient)
        .select_related("establishment", "source")
        .order_by("-study_date", "-study_time", "-pk")
    )
    if not studies:
        decide(user=user, patient=patient, action=Action.LIST, channel=channel, request=request)
        return []
    decisions = decide_many(
        user=user,
        targets=[Target(patient, study) for study in studies],
        action=Action.LIST,
        channel=channel,
        request=request,
    )
    return [study for study, decision in zip(studies, decisions, strict=True) if decision.granted]


def my_study(
    *,
    user: User,
    patient: Patient,
    pk: int,
    action: str,
    request: HttpRequest | None = None,
    channel: str = Channel.WEB,
) -> ImagingStudy | None:
    """One of the patient's studies by its id, decided and traced; None if it is not theirs."""
    study = (
        ImagingStudy.objects.present()
        .filter(pk=pk, patient=patient)
        .select_related("establishment", "source")
        .first()
    )
    if study is None:
        return None
    decision = decide(
        user=user,
        patient=patient,
        study=study,
        action=action,
        channel=channel,
        request=request,
    )
    return study if decision.granted else None


# --- Who looked at my exams ----------------------------------------------------------------


@dataclass
class HistoryEntry:
    """What one person did with the patient's record on one day, for one reason."""

    day: datetime.date
    rule: str
    actor: User | None
    practitioner: Practitioner | None
    first_at: datetime.datetime
    last_at: datetime.datetime
    workplaces: list[str] = field(default_factory=list)
    studies: list[ImagingStudy] = field(default_factory=list)
    looked_at_record: bool = False  # the timeline, without a study
    through_archive: bool = False  # the images themselves, in the viewer
    granted_by: str = ""  # for a grant: who gave it

    @property
    def flagged(self) -> bool:
        return self.rule == Rule.BREAK_GLASS

    @property
    def name(self) -> str:
        if self.practitioner is not None:
            return str(self.practitioner)
        if self.actor is not None:
            return f"{self.actor.first_name} {self.actor.last_name}".strip() or self.actor.email
        return ""


def _history_events(patient: Patient, *, since: datetime.datetime) -> list[AccessEvent]:
    return list(
        AccessEvent.objects.filter(
            patient_id__in=with_merged_records([patient.pk]),
            recorded_at__gte=since,
            granted=True,
        )
        .exclude(rule=Rule.PATIENT_SELF)
        .exclude(purpose=HISTORY_PURPOSE)
        .order_by("-recorded_at", "-id")[:HISTORY_MAX_EVENTS]
    )


def access_history(
    *,
    user: User,
    patient: Patient,
    request: HttpRequest | None = None,
    channel: str = Channel.WEB,
) -> list[HistoryEntry]:
    """Who saw the patient's imaging over the last year, newest first: one entry per person,
    day and reason, naming the exams they opened. A bounded number of queries."""
    decide(
        user=user,
        patient=patient,
        action=Action.READ,
        channel=channel,
        purpose=HISTORY_PURPOSE,
        request=request,
    )
    since = timezone.now() - datetime.timedelta(days=HISTORY_DAYS)
    events = _history_events(patient, since=since)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    practitioner_ids = {e.actor_practitioner_id for e in events if e.actor_practitioner_id}
    study_ids = {e.study_id for e in events if e.study_id is not None}
    grant_ids = {e.grant_id for e in events if e.grant_id is not None}
    actors = User.objects.in_bulk(actor_ids) if actor_ids else {}
    practitioners = Practitioner.objects.in_bulk(practitioner_ids) if practitioner_ids else {}
    studies = (
        ImagingStudy.objects.select_related("establishment").in_bulk(study_ids) if study_ids else {}
    )
    grants = (
        AccessGrant.objects.select_related("establishment", "granted_by").in_bulk(grant_ids)
        if grant_ids
        else {}
    )
    workplaces: dict[int, list[str]] = defaultdict(list)
    for site in (
        PracticeSite.objects.filter(
            practitioner_id__in=practitioner_ids, status=PracticeSite.Status.ACTIVE
        )
        .select_related("establishment")
        .order_by("pk")
    ):
        name = site.establishment.name if site.establishment else site.practice_name
        if name and name not in workplaces[site.practitioner_id]:
            workplaces[site.practitioner_id].append(name)

    entries: dict[tuple[int | None, datetime.date, str], HistoryEntry] = {}
    for event in events:
        moment = timezone.localtime(event.recorded_at)
        key = (event.actor_id, moment.date(), event.rule)
        entry = entries.get(key)
        if entry is None:
            practitioner_id = event.actor_practitioner_id
            entry = entries[key] = HistoryEntry(
                day=moment.date(),
                rule=event.rule,
                actor=actors.get(event.actor_id) if event.actor_id else None,
                practitioner=practitioners.get(practitioner_id) if practitioner_id else None,
                first_at=moment,
                last_at=moment,
                workplaces=workplaces.get(practitioner_id or 0, []),
            )
        entry.first_at = min(entry.first_at, moment)
        entry.last_at = max(entry.last_at, moment)
        entry.through_archive = entry.through_archive or event.channel == Channel.ARCHIVE
        study = studies.get(event.study_id) if event.study_id else None
        if study is None:
            entry.looked_at_record = True
        elif study not in entry.studies:
            entry.studies.append(study)
        grant = grants.get(event.grant_id) if event.grant_id else None
        if grant is not None and not entry.granted_by:
            entry.granted_by = _grant_giver(grant, patient)
    return list(entries.values())


def _grant_giver(grant: AccessGrant, patient: Patient) -> str:
    if grant.granted_by_id == patient.user_id:
        return "patient"
    if grant.establishment is not None:
        return grant.establishment.name
    return ""


# --- Announcements and choices -------------------------------------------------------------


def unacknowledged_emergencies(*, patient: Patient) -> list[BreakGlassAccess]:
    """Emergency accesses the patient has not acknowledged yet, announced on every page."""
    return list(
        BreakGlassAccess.objects.filter(
            patient_id__in=with_merged_records([patient.pk]), patient_acknowledged_at__isnull=True
        )
        .select_related("practitioner")
        .order_by("-opened_at")
    )


def my_emergency(*, patient: Patient, pk: int) -> BreakGlassAccess | None:
    return BreakGlassAccess.objects.filter(
        pk=pk, patient_id__in=with_merged_records([patient.pk])
    ).first()


def my_grant(*, patient: Patient, pk: int) -> AccessGrant | None:
    return AccessGrant.objects.filter(pk=pk, patient=patient).first()


def producing_establishments(*, patient: Patient) -> list[Establishment]:
    """Where the patient's imaging was made: their care teams, whom an opposition leaves in."""
    return list(
        Establishment.objects.filter(imaging_studies__patient=patient).distinct().order_by("name")
    )
