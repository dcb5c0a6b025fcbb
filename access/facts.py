"""What the rules of ``access.decision`` need to know about a user and their targets.

One decision is the hot path (the archive asks for every image it serves), so its facts come
from one hand-written SELECT, built once per process: composing the same question with the ORM
(eight subqueries) cost about 8 ms of Python per decision, ten times the database's own work.
The SQL mirrors the querysets' ``active()`` definitions (``Accreditation``, ``AccessGrant``,
``Opposition``, ``BreakGlassAccess``) and the care team of ``PracticeSite``; change them
together (tests/access/test_decision.py holds both to every rule). It runs on PostgreSQL and
SQLite alike.

A page of targets (``facts_for_many``) keeps the ORM: its few queries do not grow with the
page, so their composition cost is shared by up to fifty targets.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from access.bearer import Bearer, as_datetime, bearer_of_row
from access.fact_cache import Kept, facts_kept
from access.models import AccessGrant, BreakGlassAccess, Opposition
from access.token_models import ViewerToken
from imaging.models import ImagingStudy, Patient, PatientIdentifier
from portal.hot_sql import hot_cursor
from portal.models import User
from practitioners.models import Accreditation, PracticeSite, Practitioner


@dataclass(frozen=True)
class Target:
    patient: Patient
    study: ImagingStudy | None = None


@dataclass
class Facts:
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


def needs_facts(user: Any, target: Target) -> bool:
    """False when the first rules decide alone (nobody signed in, the patient themselves)."""
    if user is None or not user.is_authenticated:
        return False
    return not (target.patient.user_id is not None and target.patient.user_id == user.pk)


@cache
def _one_target_sql(*, by_study: bool, by_token: bool = False) -> str:
    """The facts of (user, patient[, study]) in one row; ``%s`` in the order of
    ``_one_target_params``. ``by_token``: the user is the bearer of the viewer token whose
    hash is the last parameter, and the row ends with ``BEARER_COLUMNS``."""
    tables = {
        "token": ViewerToken._meta.db_table,
        "user": User._meta.db_table,
        "practitioner": Practitioner._meta.db_table,
        "accreditation": Accreditation._meta.db_table,
        "site": PracticeSite._meta.db_table,
        "identifier": PatientIdentifier._meta.db_table,
        "opposition": Opposition._meta.db_table,
        "grant": AccessGrant._meta.db_table,
        "break_glass": BreakGlassAccess._meta.db_table,
    }
    # The care team: of the study's producing establishment, or for a patient without a
    # study, of an establishment that holds one of the patient's identifiers.
    site_scope = (
        "s.establishment_id = %s"
        if by_study
        else "s.establishment_id IN (SELECT i.establishment_id FROM {identifier} i "
        "WHERE i.patient_record_id = %s)"
    )
    grant = (
        "FROM {grant} g WHERE g.patient_id = %s AND g.practitioner_id = pr.id "
        "AND g.revoked_at IS NULL AND g.valid_from <= %s AND g.valid_until > %s "
        "ORDER BY g.valid_until DESC LIMIT 1"
    )
    emergency = (
        "FROM {break_glass} b WHERE b.patient_id = %s AND b.user_id = u.id "
        "AND b.opened_at <= %s AND b.expires_at > %s ORDER BY b.expires_at DESC LIMIT 1"
    )
    bearer_columns = "".join(f", {column}" for column in BEARER_COLUMNS) if by_token else ""
    user = "{token} t JOIN {user} u ON u.id = t.user_id" if by_token else "{user} u"
    key = "t.token_hash" if by_token else "u.id"
    # Only table names from the models' metadata are formatted in; values are parameters.
    sql = f"""
        SELECT
            pr.id,
            EXISTS (SELECT 1 FROM {{accreditation}} a WHERE a.practitioner_id = pr.id
                    AND a.status = %s AND a.valid_from <= %s AND a.valid_until >= %s),
            EXISTS (SELECT 1 FROM {{site}} s WHERE s.practitioner_id = pr.id
                    AND s.status = %s AND {site_scope}),
            EXISTS (SELECT 1 FROM {{opposition}} o WHERE o.patient_id = %s
                    AND o.withdrawn_at IS NULL),
            (SELECT g.id {grant}),
            (SELECT g.valid_until {grant}),
            (SELECT b.id {emergency}),
            (SELECT b.expires_at {emergency}){bearer_columns}
        FROM {user} LEFT JOIN {{practitioner}} pr ON pr.user_id = u.id
        WHERE {key} = %s
    """  # noqa: S608
    return sql.format(**tables)


# The bearer's columns that end a ``by_token`` row (``bearer_facts``).
BEARER_COLUMNS = (
    "t.id",
    "t.study_id",
    "t.created_at",
    "t.expires_at",
    "t.revoked_at",
    "t.last_used_at",
    "u.id",
    "u.email",
    "u.first_name",
    "u.last_name",
    "u.is_active",
)


def _one_target_params(*, key: Any, target: Target, now: datetime.datetime) -> list[Any]:
    ops = connection.ops
    moment = ops.adapt_datetimefield_value(now)
    today = ops.adapt_datefield_value(timezone.localdate(now))
    patient_id = target.patient.pk
    scope = target.study.establishment_id if target.study is not None else patient_id
    return [
        Accreditation.Status.ACTIVE.value,
        today,
        today,
        PracticeSite.Status.ACTIVE.value,
        scope,
        patient_id,
        *(patient_id, moment, moment) * 2,  # the grant's id, then its end
        *(patient_id, moment, moment) * 2,  # the emergency access's id, then its end
        key,  # the user's id, or the token's hash
    ]


def facts_for_one(*, user: Any, target: Target, now: datetime.datetime) -> Facts:
    """The facts of one target, in one query."""
    if not needs_facts(user, target):
        return Facts()
    with hot_cursor() as cursor:
        cursor.execute(
            _one_target_sql(by_study=target.study is not None),
            _one_target_params(key=user.pk, target=target, now=now),
        )
        row = cursor.fetchone()
    if row is None:
        return Facts()
    return _facts_of_row(row)


@dataclass(frozen=True)
class BearerFacts:
    """What ``bearer_facts`` read: the token and its user, the facts, and when. The bearer is
    shared while kept: its last use, once written, is not written again (``viewer_token_touch``)."""

    bearer: Bearer
    facts: Facts
    read_at: datetime.datetime


def bearer_facts(*, token_hash: str, target: Target, now: datetime.datetime) -> BearerFacts | None:
    """The viewer token of ``token_hash`` with its user and the facts of that user on
    ``target``, in one query, or kept by the process for a few seconds (``access.fact_cache``:
    then ``read_at`` is earlier than ``now``); None for an unknown token. The facts are
    gathered even when the first rules need none (see ``needs_facts``)."""
    by_study = target.study is not None
    scope = target.study.establishment_id if target.study is not None else None
    key = (token_hash, target.patient.pk, by_study, scope)
    keeping = facts_kept.enabled()
    if keeping:
        kept = facts_kept.get(key, now=now)
        if kept is not None:
            found: BearerFacts = kept.value
            return found
        generation = facts_kept.generation()
    with hot_cursor() as cursor:
        cursor.execute(
            _one_target_sql(by_study=by_study, by_token=True),
            _one_target_params(key=token_hash, target=target, now=now),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(row) - len(BEARER_COLUMNS)
    found = BearerFacts(bearer_of_row(row[split:]), _facts_of_row(row[:split]), now)
    if keeping:
        facts_kept.put(key, Kept(found, now), generation=generation)
    return found


def facts_as_of(facts: Facts, *, read_at: datetime.datetime, now: datetime.datetime) -> Facts:
    """``facts`` read at ``read_at``, at ``now``: without the grant or the emergency access
    that ended in between (the rules would otherwise grant them with no validity left)."""
    if read_at == now:
        return facts
    ended_grant = facts.grant_until is not None and facts.grant_until <= now
    ended_emergency = facts.break_glass_until is not None and facts.break_glass_until <= now
    if not (ended_grant or ended_emergency):
        return facts
    return replace(
        facts,
        grant_id=None if ended_grant else facts.grant_id,
        grant_until=None if ended_grant else facts.grant_until,
        break_glass_id=None if ended_emergency else facts.break_glass_id,
        break_glass_until=None if ended_emergency else facts.break_glass_until,
    )


def _facts_of_row(row: Sequence[Any]) -> Facts:
    practitioner_id, accredited, care_team, opposed, grant_id, grant_until, bg_id, bg_until = row
    return Facts(
        practitioner_id=practitioner_id,
        accredited=bool(accredited),
        care_team=bool(care_team),
        opposed=bool(opposed),
        grant_id=grant_id,
        grant_until=as_datetime(grant_until),
        break_glass_id=bg_id,
        break_glass_until=as_datetime(bg_until),
    )


def facts_for_many(*, user: Any, targets: Sequence[Target], now: datetime.datetime) -> list[Facts]:
    """The facts of a page of targets, in at most six queries whatever its size."""
    asking = [target for target in targets if needs_facts(user, target)]
    if not asking:
        return [Facts() for _ in targets]
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
        return [Facts(practitioner_id=practitioner_id) for _ in targets]
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

    def facts_of(target: Target) -> Facts:
        patient_id = target.patient.pk
        if target.study is not None:
            care_team = target.study.establishment_id in team_establishments
        else:
            care_team = patient_id in known_by_team
        grant = grants.get(patient_id)
        emergency = emergencies.get(patient_id)
        return Facts(
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
