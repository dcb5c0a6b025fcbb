"""The access decision: the one code that answers "may this user see this patient or study?".

The rules of DESIGN.md, in order:
1. the user is the patient → granted;
2. the user has no accreditation in force → denied;
3. the user is in the care team of the study's producing establishment (for a patient without
   a study: of an establishment that knows the patient) → granted;
4. the patient opposes sharing → denied, break-the-glass included;
5. a grant in force on the patient → granted;
6. a break-the-glass access in force for (user, patient) → granted, flagged;
7. otherwise → denied.

An auditor reading the trail sees patients' identities: that read is decided here too, with
``purpose=AUDIT_PURPOSE``, granted to auditors only (rule ``audit``), and traced like any other.

Every decision writes one ``audit.AccessEvent``. One decision costs two queries (the facts, the
trace); a batch costs at most seven whatever its size.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone

from access.models import AccessGrant, BreakGlassAccess, Opposition
from audit.models import ActorRole, Rule
from audit.services import EventValues, access_events_record
from imaging.models import ImagingStudy, Patient, PatientIdentifier
from portal.http import client_ip
from portal.models import User
from portal.roles import Role, has_role
from practitioners.models import Accreditation, PracticeSite, Practitioner

AUDIT_PURPOSE = "audit"


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str  # an ``audit.models.Rule`` value
    validity_s: int  # how long a cache (the archive's) may keep this answer
    flagged: bool = False  # granted by break-the-glass
    grant_id: int | None = None
    break_glass_id: int | None = None


@dataclass(frozen=True)
class Target:
    patient: Patient
    study: ImagingStudy | None = None


@dataclass
class _Facts:
    """What the rules need to know about one (user, target) pair."""

    practitioner_id: int | None = None
    accredited: bool = False
    care_team: bool = False
    opposed: bool = False
    grant_id: int | None = None
    grant_until: datetime.datetime | None = None
    break_glass_id: int | None = None
    break_glass_until: datetime.datetime | None = None
    auditor: bool = False


def validity_setting() -> int:
    return int(settings.ACCESS_DECISION_VALIDITY_S)


def _validity(until: datetime.datetime | None, now: datetime.datetime) -> int:
    longest = validity_setting()
    if until is None:
        return longest
    return max(0, min(longest, int((until - now).total_seconds())))


def _apply_rules(
    *, user: Any, target: Target, facts: _Facts, now: datetime.datetime, purpose: str
) -> Decision:
    denied = validity_setting()
    if user is None or not user.is_authenticated:
        return Decision(False, Rule.NOT_AUTHENTICATED, denied)
    if target.patient.user_id is not None and target.patient.user_id == user.pk:
        return Decision(True, Rule.PATIENT_SELF, denied)
    if purpose == AUDIT_PURPOSE:
        # Auditing is not care: it grants no imaging, only the reading of the trail.
        return Decision(facts.auditor, Rule.AUDIT if facts.auditor else Rule.NOT_AUDITOR, denied)
    if not facts.accredited:
        return Decision(False, Rule.NOT_ACCREDITED, denied)
    if facts.care_team:
        return Decision(True, Rule.CARE_TEAM, denied)
    if facts.opposed:
        return Decision(False, Rule.OPPOSITION, denied)
    if facts.grant_id is not None:
        return Decision(
            True, Rule.GRANT, _validity(facts.grant_until, now), grant_id=facts.grant_id
        )
    if facts.break_glass_id is not None:
        return Decision(
            True,
            Rule.BREAK_GLASS,
            _validity(facts.break_glass_until, now),
            flagged=True,
            break_glass_id=facts.break_glass_id,
        )
    return Decision(False, Rule.NO_RIGHT, denied)


def _moment(at: datetime.datetime | None) -> datetime.datetime:
    # Deciding "as of" another moment only serves to seed a past trail (demo, benchmarks).
    if at is not None and not (settings.PORTAL_DEMO or settings.TESTING):
        raise ValueError("A decision is taken now; 'at' is for demo and test seeds only.")
    return at or timezone.now()


def _check_target(target: Target) -> None:
    if target.study is not None and target.study.patient_id != target.patient.pk:
        raise ValueError("The study does not belong to the patient.")


def decide(
    *,
    user: Any,
    patient: Patient,
    study: ImagingStudy | None = None,
    action: str,
    channel: str,
    purpose: str = "care",
    request: HttpRequest | None = None,
    at: datetime.datetime | None = None,
) -> Decision:
    """Decide whether ``user`` may see ``patient`` (or one of their studies) and trace it.

    Two queries: one gathers every fact the rules need, one writes the trace.
    """
    target = Target(patient, study)
    _check_target(target)
    now = _moment(at)
    if purpose == AUDIT_PURPOSE:
        facts = _auditor_facts(user=user, count=1)[0]
    else:
        facts = _facts_for_one(user=user, target=target, now=now)
    decision = _apply_rules(user=user, target=target, facts=facts, now=now, purpose=purpose)
    _record(
        user=user,
        decided=[(target, facts, decision)],
        action=action,
        channel=channel,
        purpose=purpose,
        request=request,
        now=now,
    )
    return decision


def decide_many(
    *,
    user: Any,
    targets: Sequence[Target],
    action: str,
    channel: str,
    purpose: str = "care",
    request: HttpRequest | None = None,
    at: datetime.datetime | None = None,
) -> list[Decision]:
    """``decide`` for a page of patients or studies: one decision and one trace per target,
    in at most seven queries whatever the number of targets."""
    for target in targets:
        _check_target(target)
    if not targets:
        return []
    now = _moment(at)
    if purpose == AUDIT_PURPOSE:
        all_facts = _auditor_facts(user=user, count=len(targets))
    else:
        all_facts = _facts_for_many(user=user, targets=targets, now=now)
    decisions = [
        _apply_rules(user=user, target=target, facts=facts, now=now, purpose=purpose)
        for target, facts in zip(targets, all_facts, strict=True)
    ]
    _record(
        user=user,
        decided=list(zip(targets, all_facts, decisions, strict=True)),
        action=action,
        channel=channel,
        purpose=purpose,
        request=request,
        now=now,
    )
    return decisions


def _record(
    *,
    user: Any,
    decided: Sequence[tuple[Target, _Facts, Decision]],
    action: str,
    channel: str,
    purpose: str,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> None:
    """Write one trace per decision, in one INSERT."""
    access_events_record(
        events=[
            _event(
                user=user,
                target=target,
                facts=facts,
                decision=decision,
                action=action,
                channel=channel,
                purpose=purpose,
                request=request,
                now=now,
            )
            for target, facts, decision in decided
        ]
    )


def _auditor_facts(*, user: Any, count: int) -> list[_Facts]:
    auditor = bool(getattr(user, "is_authenticated", False) and has_role(user, Role.AUDITOR))
    return [_Facts(auditor=auditor) for _ in range(count)]


def _needs_facts(user: Any, target: Target) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return not (target.patient.user_id is not None and target.patient.user_id == user.pk)


def _facts_for_one(*, user: Any, target: Target, now: datetime.datetime) -> _Facts:
    if not _needs_facts(user, target):
        return _Facts()
    patient_id = target.patient.pk
    sites = PracticeSite.objects.filter(
        practitioner__user_id=OuterRef("pk"), status=PracticeSite.Status.ACTIVE
    )
    if target.study is not None:
        sites = sites.filter(establishment_id=target.study.establishment_id)
    else:
        sites = sites.filter(
            establishment_id__in=PatientIdentifier.objects.filter(
                patient_record_id=patient_id
            ).values("establishment_id")
        )
    grants = (
        AccessGrant.objects.active(now)
        .filter(patient_id=patient_id, practitioner__user_id=OuterRef("pk"))
        .order_by("-valid_until")
    )
    emergencies = (
        BreakGlassAccess.objects.active(now)
        .filter(patient_id=patient_id, user_id=OuterRef("pk"))
        .order_by("-expires_at")
    )
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            practitioner_id=Subquery(
                Practitioner.objects.filter(user_id=OuterRef("pk")).values("pk")[:1]
            ),
            accredited=Exists(
                Accreditation.objects.active(timezone.localdate(now)).filter(
                    practitioner__user_id=OuterRef("pk")
                )
            ),
            care_team=Exists(sites),
            opposed=Exists(Opposition.objects.active().filter(patient_id=patient_id)),
            grant_id=Subquery(grants.values("pk")[:1]),
            grant_until=Subquery(grants.values("valid_until")[:1]),
            break_glass_id=Subquery(emergencies.values("pk")[:1]),
            break_glass_until=Subquery(emergencies.values("expires_at")[:1]),
        )
        .values(
            "practitioner_id",
            "accredited",
            "care_team",
            "opposed",
            "grant_id",
            "grant_until",
            "break_glass_id",
            "break_glass_until",
        )
        .first()
    )
    return _Facts(**row) if row else _Facts()


def _facts_for_many(
    *, user: Any, targets: Sequence[Target], now: datetime.datetime
) -> list[_Facts]:
    asking = [target for target in targets if _needs_facts(user, target)]
    if not asking:
        return [_Facts() for _ in targets]
    practitioner = (
        Practitioner.objects.filter(user_id=user.pk)
        .annotate(
            accredited=Exists(
                Accreditation.objects.active(timezone.localdate(now)).filter(
                    practitioner_id=OuterRef("pk")
                )
            )
        )
        .values("pk", "accredited")
        .first()
    )
    if practitioner is None or not practitioner["accredited"]:
        practitioner_id = practitioner["pk"] if practitioner else None
        return [_Facts(practitioner_id=practitioner_id) for _ in targets]
    practitioner_id = practitioner["pk"]
    team_establishments = set(
        PracticeSite.objects.filter(
            practitioner_id=practitioner_id,
            status=PracticeSite.Status.ACTIVE,
            establishment__isnull=False,
        ).values_list("establishment_id", flat=True)
    )
    patient_ids = {target.patient.pk for target in asking}
    known_by_team: set[int] = set()
    patient_level = {target.patient.pk for target in asking if target.study is None}
    if patient_level and team_establishments:
        known_by_team = set(
            PatientIdentifier.objects.filter(
                patient_record_id__in=patient_level, establishment_id__in=team_establishments
            ).values_list("patient_record_id", flat=True)
        )
    opposed = set(
        Opposition.objects.active()
        .filter(patient_id__in=patient_ids)
        .values_list("patient_id", flat=True)
    )
    grants: dict[int, tuple[int, datetime.datetime]] = {}
    for pk, patient_id, until in (
        AccessGrant.objects.active(now)
        .filter(practitioner_id=practitioner_id, patient_id__in=patient_ids)
        .order_by("valid_until")
        .values_list("pk", "patient_id", "valid_until")
    ):
        grants[patient_id] = (pk, until)  # the one ending last wins
    emergencies: dict[int, tuple[int, datetime.datetime]] = {}
    for pk, patient_id, until in (
        BreakGlassAccess.objects.active(now)
        .filter(user_id=user.pk, patient_id__in=patient_ids)
        .order_by("expires_at")
        .values_list("pk", "patient_id", "expires_at")
    ):
        emergencies[patient_id] = (pk, until)

    def facts_of(target: Target) -> _Facts:
        patient_id = target.patient.pk
        if target.study is not None:
            care_team = target.study.establishment_id in team_establishments
        else:
            care_team = patient_id in known_by_team
        grant = grants.get(patient_id)
        emergency = emergencies.get(patient_id)
        return _Facts(
            practitioner_id=practitioner_id,
            accredited=True,
            care_team=care_team,
            opposed=patient_id in opposed,
            grant_id=grant[0] if grant else None,
            grant_until=grant[1] if grant else None,
            break_glass_id=emergency[0] if emergency else None,
            break_glass_until=emergency[1] if emergency else None,
        )

    return [facts_of(target) for target in targets]


def _actor_role(user: Any, decision: Decision, facts: _Facts) -> str:
    if user is None or not user.is_authenticated:
        return ActorRole.ANONYMOUS
    if decision.reason == Rule.PATIENT_SELF:
        return ActorRole.PATIENT
    if facts.auditor:
        return ActorRole.AUDITOR
    if facts.practitioner_id is not None:
        return ActorRole.PRACTITIONER
    return ActorRole.OTHER


def _event(
    *,
    user: Any,
    target: Target,
    facts: _Facts,
    decision: Decision,
    action: str,
    channel: str,
    purpose: str,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> EventValues:
    authenticated = user is not None and user.is_authenticated
    study = target.study
    return EventValues(
        recorded_at=now,
        actor_id=user.pk if authenticated else None,
        actor_label=user.email if authenticated else "",
        actor_role=_actor_role(user, decision, facts),
        actor_practitioner_id=facts.practitioner_id,
        patient_id=target.patient.pk,
        study_id=study.pk if study else None,
        study_instance_uid=study.study_instance_uid if study else "",
        establishment_id=study.establishment_id if study else None,
        action=action,
        channel=channel,
        granted=decision.granted,
        rule=decision.reason,
        purpose=purpose,
        grant_id=decision.grant_id,
        break_glass_id=decision.break_glass_id,
        source_ip=client_ip(request),
    )
