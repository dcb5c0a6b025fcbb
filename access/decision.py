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
trace), a viewer token's too (its token is read with the facts: ``decide_for_token``); a batch
costs at most seven whatever its size.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from access.bearer import Bearer
from access.facts import (
    Facts,
    Target,
    bearer_facts,
    facts_as_of,
    facts_for_many,
    facts_for_one,
    needs_facts,
)
from audit.models import ActorRole, Rule
from audit.services import EventValues, access_events_append
from imaging.models import ImagingStudy, Patient
from portal.http import client_ip
from portal.roles import Role, has_role

AUDIT_PURPOSE = "audit"


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str  # an ``audit.models.Rule`` value
    validity_s: int  # how long a cache (the archive's) may keep this answer
    flagged: bool = False  # granted by break-the-glass
    grant_id: int | None = None
    break_glass_id: int | None = None


def validity_setting() -> int:
    return int(settings.ACCESS_DECISION_VALIDITY_S)


def _validity(until: datetime.datetime | None, now: datetime.datetime) -> int:
    longest = validity_setting()
    if until is None:
        return longest
    return max(0, min(longest, int((until - now).total_seconds())))


def _apply_rules(
    *, user: Any, target: Target, facts: Facts, now: datetime.datetime, purpose: str
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
        facts = facts_for_one(user=user, target=target, now=now)
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


def decide_for_token(
    *,
    token_hash: str,
    target: Target,
    admit: Callable[[Bearer], bool],
    action: str,
    channel: str,
    request: HttpRequest | None = None,
) -> tuple[Bearer | None, Decision | None]:
    """``decide`` for the bearer of the viewer token of ``token_hash``, for care: the token,
    its user and the facts in one query, then the trace (the archive's every request).

    ``admit(bearer)`` tells whether the token may be used at all (its state, its study): when
    it may not, nothing is decided nor traced and the decision is None. An unknown token gives
    ``(None, None)``.
    """
    _check_target(target)
    now = timezone.now()
    found = bearer_facts(token_hash=token_hash, target=target, now=now)
    if found is None:
        return None, None
    bearer = found.bearer
    if not admit(bearer):
        return bearer, None
    user = bearer.user
    facts = facts_as_of(found.facts, read_at=found.read_at, now=now)
    if not needs_facts(user, target):
        facts = Facts()  # what ``decide`` records when the first rules decide alone
    decision = _apply_rules(user=user, target=target, facts=facts, now=now, purpose="care")
    if found.read_at != now:
        # Facts kept by the process: the answer lives no longer than if they had been read
        # when they were.
        age = (now - found.read_at).total_seconds()
        left = max(0, int(validity_setting() - age))
        decision = replace(decision, validity_s=min(decision.validity_s, left))
    _record(
        user=user,
        decided=[(target, facts, decision)],
        action=action,
        channel=channel,
        purpose="care",
        request=request,
        now=now,
    )
    return bearer, decision


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
        all_facts = facts_for_many(user=user, targets=targets, now=now)
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
    decided: Sequence[tuple[Target, Facts, Decision]],
    action: str,
    channel: str,
    purpose: str,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> None:
    """Write one trace per decision, in one INSERT."""
    access_events_append(
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


def _auditor_facts(*, user: Any, count: int) -> list[Facts]:
    auditor = bool(getattr(user, "is_authenticated", False) and has_role(user, Role.AUDITOR))
    return [Facts(auditor=auditor) for _ in range(count)]


def _actor_role(user: Any, decision: Decision, facts: Facts) -> str:
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
    facts: Facts,
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
