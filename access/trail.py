"""Reads for the auditors' screens: the access trail with the names it points to, the criteria
that narrow it, and the emergency accesses awaiting review.

The trail (``audit.AccessEvent``) holds plain ids so that it outlives what it describes; the
names of users, patients, studies and establishments are looked up here, in bulk: one query per
kind of name for a whole page (or a whole chunk of an export), never one per row.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from access.models import BreakGlassAccess
from audit.models import AccessEvent, Channel, Rule
from establishments.models import Establishment
from imaging.models import ImagingStudy, Patient, PatientIdentifier
from portal.models import User

# The period the trail page shows until the auditor chooses another: a month keeps the first
# page (and its count) on one or two monthly partitions.
DEFAULT_PERIOD_DAYS = 30

GRANTED, REFUSED = "granted", "refused"

# Purposes ``access.decide`` is called with, as an auditor reads them.
PURPOSE_LABELS = {"care": _("Soins")}


@dataclass(frozen=True)
class TrailCriteria:
    """What narrows the trail. Kept in the auditor's session (never in a URL: the patient is
    patient data), so every value here is a plain id, text or date."""

    patient_ids: tuple[int, ...] = ()
    actor_email: str = ""
    actor_id: int | None = None
    establishment_ids: tuple[int, ...] = ()
    finess: str = ""  # as typed, when it chose ``establishment_ids``
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    decision: str = ""  # GRANTED, REFUSED or "" for both
    rule: str = ""
    channel: str = ""

    @classmethod
    def default(cls, *, today: datetime.date | None = None) -> TrailCriteria:
        day = today or timezone.localdate()
        return cls(date_from=day - datetime.timedelta(days=DEFAULT_PERIOD_DAYS), date_to=day)

    def to_session(self) -> dict[str, Any]:
        return {
            "patient_ids": list(self.patient_ids),
            "actor_email": self.actor_email,
            "actor_id": self.actor_id,
            "establishment_ids": list(self.establishment_ids),
            "finess": self.finess,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "decision": self.decision,
            "rule": self.rule,
            "channel": self.channel,
        }

    @classmethod
    def from_session(cls, data: Any) -> TrailCriteria:
        """The criteria saved by ``to_session``; the default ones if there are none (or if what
        the session holds cannot be read)."""
        if not isinstance(data, dict):
            return cls.default()
        try:
            return cls(
                patient_ids=tuple(int(pk) for pk in data.get("patient_ids") or ()),
                actor_email=str(data.get("actor_email") or ""),
                actor_id=int(data["actor_id"]) if data.get("actor_id") is not None else None,
                establishment_ids=tuple(int(pk) for pk in data.get("establishment_ids") or ()),
                finess=str(data.get("finess") or ""),
                date_from=_date_or_none(data.get("date_from")),
                date_to=_date_or_none(data.get("date_to")),
                decision=str(data.get("decision") or ""),
                rule=str(data.get("rule") or ""),
                channel=str(data.get("channel") or ""),
            )
        except (TypeError, ValueError):
            return cls.default()

    @property
    def rule_label(self) -> str:
        return str(Rule(self.rule).label) if self.rule in Rule.values else self.rule

    @property
    def channel_label(self) -> str:
        return str(Channel(self.channel).label) if self.channel in Channel.values else self.channel

    def without_patient(self) -> TrailCriteria:
        return replace(self, patient_ids=())

    def with_patients(self, patient_ids: Iterable[int]) -> TrailCriteria:
        """These criteria for ``patient_ids`` and the records merged into them."""
        return replace(self, patient_ids=with_merged_records(patient_ids))


def _date_or_none(value: Any) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def events_matching(*, criteria: TrailCriteria) -> QuerySet[AccessEvent]:
    """The trail narrowed by ``criteria``, the latest first.

    The period is a range on ``recorded_at``, the partition key, so PostgreSQL reads only the
    months it covers. Dates are the auditor's (Paris) days.
    """
    events = AccessEvent.objects.all()
    if criteria.patient_ids:
        events = events.filter(patient_id__in=criteria.patient_ids)
    if criteria.actor_id is not None:
        events = events.filter(actor_id=criteria.actor_id)
    elif criteria.actor_email:
        # An account since deleted is still named in the trail by the address it had.
        events = events.filter(actor_label=criteria.actor_email)
    if criteria.establishment_ids:
        events = events.filter(establishment_id__in=criteria.establishment_ids)
    if criteria.date_from is not None:
        events = events.filter(recorded_at__gte=_local_midnight(criteria.date_from))
    if criteria.date_to is not None:
        end = criteria.date_to + datetime.timedelta(days=1)
        events = events.filter(recorded_at__lt=_local_midnight(end))
    if criteria.decision == GRANTED:
        events = events.filter(granted=True)
    elif criteria.decision == REFUSED:
        events = events.filter(granted=False)
    if criteria.rule:
        events = events.filter(rule=criteria.rule)
    if criteria.channel:
        events = events.filter(channel=criteria.channel)
    return events.order_by("-recorded_at", "-id")


# --- Names for the ids of the trail --------------------------------------------------------


@dataclass(frozen=True)
class TrailRow:
    """One event of the trail and the names its ids point to (``None`` when gone)."""

    event: AccessEvent
    actor: User | None = None
    patient: Patient | None = None
    study: ImagingStudy | None = None
    establishment: Establishment | None = None

    @property
    def purpose_label(self) -> str:
        return str(PURPOSE_LABELS.get(self.event.purpose, self.event.purpose))


def _ids(values: Iterable[int | None]) -> set[int]:
    return {value for value in values if value is not None}


def trail_rows(events: Sequence[AccessEvent]) -> list[TrailRow]:
    """``events`` with their names: at most four queries (users, patients, studies,
    establishments) whatever their number."""
    actor_ids = _ids(event.actor_id for event in events)
    patient_ids = _ids(event.patient_id for event in events)
    study_ids = _ids(event.study_id for event in events)
    establishment_ids = _ids(event.establishment_id for event in events)
    actors = (
        User.objects.only("pk", "email", "first_name", "last_name").in_bulk(actor_ids)
        if actor_ids
        else {}
    )
    patients = Patient.objects.in_bulk(patient_ids) if patient_ids else {}
    studies = (
        ImagingStudy.objects.only(
            "pk", "study_instance_uid", "study_date", "modalities", "establishment_id"
        ).in_bulk(study_ids)
        if study_ids
        else {}
    )
    establishments = Establishment.objects.in_bulk(establishment_ids) if establishment_ids else {}
    return [
        TrailRow(
            event=event,
            actor=actors.get(event.actor_id) if event.actor_id is not None else None,
            patient=patients.get(event.patient_id) if event.patient_id is not None else None,
            study=studies.get(event.study_id) if event.study_id is not None else None,
            establishment=(
                establishments.get(event.establishment_id)
                if event.establishment_id is not None
                else None
            ),
        )
        for event in events
    ]


def trail_rows_streamed(events: QuerySet[AccessEvent], *, chunk: int = 2000) -> Iterator[TrailRow]:
    """Every event of ``events`` with its names, read through a server-side cursor and named
    ``chunk`` rows at a time: an export of millions of rows holds one chunk in memory."""
    batch: list[AccessEvent] = []
    for event in events.iterator(chunk_size=chunk):
        batch.append(event)
        if len(batch) == chunk:
            yield from trail_rows(batch)
            batch = []
    if batch:
        yield from trail_rows(batch)


# --- The trail's filters -------------------------------------------------------------------


def establishments_named(establishment_ids: Sequence[int]) -> list[Establishment]:
    if not establishment_ids:
        return []
    return list(Establishment.objects.filter(pk__in=establishment_ids).order_by("name"))


def establishment_choices() -> QuerySet[Establishment]:
    return Establishment.objects.order_by("name", "finess_eg")


def establishments_by_finess(*, finess: str) -> list[Establishment]:
    """The establishments a FINESS names: the geographic one, or all those of a legal entity."""
    return list(
        Establishment.objects.filter(Q(finess_eg=finess) | Q(finess_ej=finess)).order_by("name")
    )


def actor_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def with_merged_records(patient_ids: Iterable[int]) -> tuple[int, ...]:
    """``patient_ids`` and every record merged into them: the trail keeps the id a record had
    when it was accessed, and a merge must not hide those accesses from the auditor."""
    found = set(patient_ids)
    frontier = set(found)
    while frontier:
        merged = set(
            Patient.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        frontier = merged - found
        found |= frontier
    return tuple(sorted(found))


def patients_by_id(patient_ids: Iterable[int]) -> list[Patient]:
    """Patients to name in the filter summary or to choose among, with where they are known."""
    return list(
        Patient.objects.filter(pk__in=list(patient_ids), merged_into__isnull=True)
        .prefetch_related(
            Prefetch(
                "identifiers",
                queryset=PatientIdentifier.objects.select_related("establishment").order_by(
                    "establishment__name"
                ),
            )
        )
        .order_by("patient_name", "pk")
    )


# --- Emergency accesses --------------------------------------------------------------------


def break_glass_review_counts() -> dict[str, int]:
    """How many emergency accesses are in each review state (one query)."""
    counts = dict.fromkeys(BreakGlassAccess.Review.values, 0)
    for row in BreakGlassAccess.objects.values("review").annotate(count=Count("pk")).order_by():
        counts[row["review"]] = row["count"]
    return counts


def break_glass_pending_count() -> int:
    return BreakGlassAccess.objects.filter(review=BreakGlassAccess.Review.PENDING).count()


def break_glass_for_review(*, pk: int) -> BreakGlassAccess | None:
    return (
        BreakGlassAccess.objects.select_related("practitioner", "user", "patient", "reviewed_by")
        .filter(pk=pk)
        .first()
    )


def break_glass_trail(*, access: BreakGlassAccess) -> list[TrailRow]:
    """The decisions made under ``access``, in order. Such a decision falls within the access's
    period, which bounds the scan to the partitions of those months."""
    events = AccessEvent.objects.filter(
        break_glass_id=access.pk,
        recorded_at__gte=access.opened_at,
        recorded_at__lte=access.expires_at,
    ).order_by("recorded_at", "id")
    return trail_rows(list(events))


def may_review(*, user: User, access: BreakGlassAccess) -> bool:
    """Whether to offer ``user`` the review form (``access.services.break_glass_review``
    enforces the same: an auditor never reviews their own emergency access)."""
    return access.review == BreakGlassAccess.Review.PENDING and access.user_id != user.pk


# --- The CSV export --------------------------------------------------------------------------

# Beyond this, the auditor narrows the period: a spreadsheet cannot open more anyway.
EXPORT_MAX_ROWS = 1_000_000

# A cell a spreadsheet would read as a formula is prefixed with an apostrophe (OWASP, "CSV
# injection"): names come from the archives and e-mail addresses from users.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_too_large(events: QuerySet[AccessEvent]) -> bool:
    """Whether ``events`` holds more than ``EXPORT_MAX_ROWS`` rows; counts no further."""
    return events[: EXPORT_MAX_ROWS + 1].count() > EXPORT_MAX_ROWS


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _columns() -> list[tuple[str | Promise, Callable[[TrailRow], str]]]:
    def local(row: TrailRow) -> str:
        return timezone.localtime(row.event.recorded_at).strftime("%d/%m/%Y %H:%M:%S")

    def utc(row: TrailRow) -> str:
        return row.event.recorded_at.astimezone(datetime.UTC).isoformat()

    def patient_name(row: TrailRow) -> str:
        return _text(row.patient.display_name) if row.patient else ""

    def study_date(row: TrailRow) -> str:
        return (
            row.study.study_date.strftime("%d/%m/%Y") if row.study and row.study.study_date else ""
        )

    def establishment_finess(row: TrailRow) -> str:
        return row.establishment.finess_eg if row.establishment else ""

    def establishment_name(row: TrailRow) -> str:
        return _text(row.establishment.name) if row.establishment else ""

    return [
        (_("Rang dans la chaîne"), lambda row: _number(row.event.chain_seq)),
        (_("Date (heure de Paris)"), local),
        (_("Date (UTC)"), utc),
        (_("Identifiant de l'utilisateur"), lambda row: _number(row.event.actor_id)),
        (_("Utilisateur"), lambda row: _text(row.event.actor_label)),
        (_("Rôle"), lambda row: str(row.event.get_actor_role_display())),
        (_("Identifiant du professionnel"), lambda row: _number(row.event.actor_practitioner_id)),
        (_("Identifiant du patient"), lambda row: _number(row.event.patient_id)),
        (_("Patient"), patient_name),
        (_("Identifiant de l'examen"), lambda row: _number(row.event.study_id)),
        (_("StudyInstanceUID"), lambda row: _text(row.event.study_instance_uid)),
        (_("Date de l'examen"), study_date),
        (_("Identifiant de l'établissement"), lambda row: _number(row.event.establishment_id)),
        (_("FINESS de l'établissement"), establishment_finess),
        (_("Établissement"), establishment_name),
        (_("Action"), lambda row: str(row.event.get_action_display())),
        (_("Canal"), lambda row: str(row.event.get_channel_display())),
        (_("Décision"), lambda row: str(_("accordé") if row.event.granted else _("refusé"))),
        (_("Règle"), lambda row: str(row.event.get_rule_display())),
        (_("Finalité"), lambda row: _text(row.purpose_label)),
        (_("Autorisation d'accès"), lambda row: _number(row.event.grant_id)),
        (_("Accès d'urgence"), lambda row: _number(row.event.break_glass_id)),
        (_("Adresse IP"), lambda row: row.event.source_ip or ""),
        (_("Empreinte précédente"), lambda row: row.event.prev_hash),
        (_("Empreinte"), lambda row: row.event.hash),
    ]


class _Line:
    """A file-like object ``csv.writer`` writes one line into, handed straight back."""

    def write(self, value: str) -> str:
        return value


def export_lines(events: QuerySet[AccessEvent]) -> Iterator[str]:
    """``events`` as CSV lines for a French spreadsheet: a byte-order mark so that it reads
    UTF-8, semicolons, a header row, then one line per event with its names."""
    columns = _columns()
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([str(header) for header, _value in columns])
    for row in trail_rows_streamed(events):
        yield writer.writerow([value(row) for _header, value in columns])
