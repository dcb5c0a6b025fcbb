"""Reads of the imaging app: archive sources for their screens, volumes, patient records."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from establishments.models import Establishment, Membership
from imaging.crypto import UnreadableSecret, decrypt_secret
from imaging.models import ArchiveSource, ImagingStudy, PatientIdentifier, PatientLinkEvent
from portal.hot_sql import hot_cursor
from portal.local_cache import LocalTtlCache
from portal.roles import is_regional_admin

if TYPE_CHECKING:
    from portal.roles import AnyUser

# A run that has not written anything for this long is considered dead (its worker was
# killed): the scheduler may start another.
STALE_RUN_S = 10 * 60


def referent_establishments(*, user: AnyUser) -> QuerySet[Establishment]:
    """Establishments ``user`` is a referent of now."""
    if not user.is_authenticated:
        return Establishment.objects.none()
    return Establishment.objects.filter(
        memberships__user__pk=user.pk,
        memberships__role=Membership.Role.REFERENT,
        memberships__ended_at__isnull=True,
    ).distinct()


def can_manage_archive(*, user: AnyUser, establishment: Establishment) -> bool:
    """Whether ``user`` may see and configure ``establishment``'s archive: a regional
    administrator, or a referent of that establishment."""
    if is_regional_admin(user):
        return True
    return referent_establishments(user=user).filter(pk=establishment.pk).exists()


def _with_counts(queryset: QuerySet[ArchiveSource]) -> QuerySet[ArchiveSource]:
    patients = (
        PatientIdentifier.objects.filter(establishment=OuterRef("establishment"))
        .order_by()
        .values("establishment")
        .annotate(count=Count("id"))
        .values("count")
    )
    return queryset.select_related("establishment").annotate(
        study_count=Count("studies", filter=Q(studies__deleted_at__isnull=True)),
        deleted_count=Count("studies", filter=Q(studies__deleted_at__isnull=False)),
        patient_count=Coalesce(Subquery(patients, output_field=IntegerField()), 0),
    )


def archive_sources_for(*, user: AnyUser) -> QuerySet[ArchiveSource]:
    """The archives ``user`` may see, each with ``study_count`` and ``deleted_count``
    (one query whatever their number)."""
    queryset = ArchiveSource.objects.all()
    if not is_regional_admin(user):
        queryset = queryset.filter(establishment__in=referent_establishments(user=user))
    return _with_counts(queryset).order_by("establishment__name", "id")


def archive_source_for(*, user: AnyUser, pk: int) -> ArchiveSource | None:
    """The archive ``pk`` if ``user`` may see it (None otherwise: the view answers 404)."""
    return archive_sources_for(user=user).filter(pk=pk).first()


# Archives whose callback password was verified by this process: key → the hash it matched.
# The slow password hash then runs once per process and credential, not on every request the
# archive makes; a changed password (another hash) is verified again.
_verified_callbacks: dict[str, str] = {}
_VERIFIED_CALLBACKS_MAX = 256
_dummy_hash: list[str] = []


def _callback_key(source_pk: int, password: str) -> str:
    secret = settings.SECRET_KEY.encode()
    message = f"{source_pk}\0{password}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# An archive calls for every image a viewer loads: the source a user and password were
# verified for is kept in the process for at most ACCESS_DECISION_VALIDITY_S, so a removed or
# changed callback password stops working within that time in every worker, and at once in
# the one that changed it (``callback_sources_forget``).
_callback_sources: LocalTtlCache[ArchiveSource] = LocalTtlCache(
    max_entries=256, ttl_s=lambda: float(settings.ACCESS_DECISION_VALIDITY_S)
)


@cache
def _callback_sql() -> str:
    # Only the model's table name is formatted in.
    return (
        f"SELECT id, callback_password_hash FROM {ArchiveSource._meta.db_table} "  # noqa: S608
        "WHERE callback_username = %s AND callback_password_hash <> ''"
    )


def callback_sources_forget() -> None:
    """Forget the verified callback credentials of this process (one of them changed)."""
    _callback_sources.clear()


def archive_source_for_callback(*, username: str, password: str) -> ArchiveSource | None:
    """The archive presenting ``username`` and ``password`` when it calls the portal (the
    authorization web service), or None. The password is checked by Django's hashers, in
    constant time, and an unknown user costs the same hash as a known one."""
    recent_key = (username, _callback_key(0, password))
    recent = _callback_sources.get(recent_key)
    if recent is not None:
        return recent
    row = None
    if username:
        with hot_cursor() as cursor:
            cursor.execute(_callback_sql(), [username])
            row = cursor.fetchone()
    if row is None:
        if not _dummy_hash:
            _dummy_hash.append(make_password("not-a-callback-password"))
        check_password(password, _dummy_hash[0])
        return None
    source_pk, password_hash = row
    key = _callback_key(source_pk, password)
    if _verified_callbacks.get(key) != password_hash:
        if not check_password(password, password_hash):
            return None
        if len(_verified_callbacks) >= _VERIFIED_CALLBACKS_MAX:
            _verified_callbacks.clear()
        _verified_callbacks[key] = password_hash
    source = ArchiveSource.objects.filter(pk=source_pk).first()
    if source is not None:
        _callback_sources.set(recent_key, source)
    return source


def archive_source_reader_matches(*, source: ArchiveSource, username: str, password: str) -> bool:
    """Whether ``username`` and ``password`` are the portal's own credentials on ``source``
    (what the sync sends). An archive filtering its requests through the authorization plugin
    forwards them to the portal like a viewer's token."""
    if not source.username or not source.password_encrypted:
        return False
    try:
        stored = decrypt_secret(source.password_encrypted)
    except UnreadableSecret:
        return False
    same_user = hmac.compare_digest(username.encode(), source.username.encode())
    same_password = hmac.compare_digest(password.encode(), stored.encode())
    return same_user and same_password


def establishments_without_archive_for(*, user: AnyUser) -> QuerySet[Establishment]:
    """Establishments ``user`` could connect an archive for, that have none yet."""
    queryset = (
        Establishment.objects.filter(status=Establishment.Status.MEMBER)
        if is_regional_admin(user)
        else referent_establishments(user=user)
    )
    return queryset.filter(archive_source__isnull=True).order_by("name", "id")


def establishment_for_new_archive(*, user: AnyUser, pk: int) -> Establishment | None:
    """Establishment ``pk`` if ``user`` may connect its (missing) archive."""
    return establishments_without_archive_for(user=user).filter(pk=pk).first()


def sources_due_for_sync(*, now: datetime.datetime | None = None) -> QuerySet[ArchiveSource, int]:
    """Ids of enabled archives to sync now: past their backoff, and not being synced by a
    run that is still alive."""
    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=getattr(settings, "IMAGING_STALE_RUN_S", STALE_RUN_S))
    return (
        ArchiveSource.objects.filter(enabled=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exclude(
            Q(state__in=[ArchiveSource.State.RUNNING, ArchiveSource.State.QUEUED])
            & Q(updated_at__gt=stale)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def enabled_source_ids() -> list[int]:
    return list(
        ArchiveSource.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class VolumeTable:
    months: list[datetime.date]
    rows: list[tuple[Establishment, list[int], int]]
    totals: list[int]


def _month_start(day: datetime.date, back: int) -> datetime.date:
    month_index = day.year * 12 + day.month - 1 - back
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


def study_volume_by_month(*, months: int = 12, today: datetime.date | None = None) -> VolumeTable:
    """Studies per producing establishment and month of study, over the last ``months``
    months (deleted studies excluded). Two queries whatever the volume."""
    today = today or timezone.localdate()
    first = _month_start(today, months - 1)
    month_list = [_month_start(today, back) for back in range(months - 1, -1, -1)]
    counts = (
        ImagingStudy.objects.present()
        .filter(study_date__gte=first, study_date__lte=today)
        .annotate(month=TruncMonth("study_date"))
        .values("establishment", "month")
        .annotate(count=Count("id"))
    )
    table: dict[int, dict[datetime.date, int]] = {}
    for row in counts:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        table.setdefault(row["establishment"], {})[month] = row["count"]
    establishments = Establishment.objects.filter(pk__in=table).order_by("name", "id")
    rows = []
    for establishment in establishments:
        values = [table[establishment.pk].get(month, 0) for month in month_list]
        rows.append((establishment, values, sum(values)))
    totals = [sum(row[1][index] for row in rows) for index in range(len(month_list))]
    return VolumeTable(months=month_list, rows=rows, totals=totals)


def identifiers_for(
    *, establishment: Establishment, query: str, limit: int = 20
) -> list[PatientIdentifier]:
    """Patient identifiers of ``establishment`` matching a PatientID or a name fragment."""
    query = query.strip()
    if len(query) < 2:
        return []
    return list(
        PatientIdentifier.objects.filter(establishment=establishment)
        .filter(Q(patient_id__iexact=query) | Q(patient_name__icontains=query))
        .select_related("patient_record")
        .order_by("patient_name", "id")[:limit]
    )


def identifier_for(*, user: AnyUser, pk: int) -> PatientIdentifier | None:
    """Identifier ``pk`` if ``user`` is a referent of its establishment (regional
    administrators see no patient data)."""
    return (
        PatientIdentifier.objects.select_related("patient_record", "establishment")
        .filter(establishment__in=referent_establishments(user=user), pk=pk)
        .first()
    )


def identifier_by_issuer(*, finess_eg: str, patient_id: str) -> PatientIdentifier | None:
    """The identifier an establishment (by FINESS) issued under ``patient_id``, exactly."""
    return (
        PatientIdentifier.objects.select_related("patient_record", "establishment")
        .filter(establishment__finess_eg=finess_eg.strip(), patient_id=patient_id.strip())
        .first()
    )


def record_identifiers(*, identifier: PatientIdentifier) -> list[PatientIdentifier]:
    """Every identifier of the record ``identifier`` belongs to, with their establishments."""
    return list(
        PatientIdentifier.objects.filter(patient_record=identifier.patient_record_id)
        .select_related("establishment")
        .annotate(study_count=Count("studies", filter=Q(studies__deleted_at__isnull=True)))
        .order_by("establishment__name", "patient_id")
    )


def link_events_for(*, patient_pk: int, limit: int = 20) -> list[PatientLinkEvent]:
    """The latest link events that touched the record ``patient_pk``."""
    return list(
        PatientLinkEvent.objects.filter(
            Q(patient_pk=patient_pk) | Q(other_patient_pk=patient_pk)
        ).order_by("-at", "-id")[:limit]
    )


FINDING_LABELS = {
    "missing_study_date": _("Date d'examen absente"),
    "invalid_date": _("Date illisible, non enregistrée"),
    "invalid_time": _("Heure illisible, non enregistrée"),
    "too_long": _("Valeur trop longue, tronquée"),
    "missing_modality": _("Modalité absente"),
    "unknown_modality": _("Modalité inconnue, conservée telle quelle"),
    "missing_patient_id": _("Identifiant patient absent : examen non rattaché à un patient"),
    "invalid_sex": _("Sexe du patient non reconnu"),
    "invalid_ins": _("INS invalide, ignoré"),
    "conflicting_ins": _("Plusieurs INS différents pour un examen, ignorés"),
    "ins_mismatch": _("INS différent de celui déjà connu pour ce dossier, non modifié"),
    "ins_link_blocked": _("INS présent mais rapprochement bloqué après une séparation manuelle"),
    "unreadable_study": _("Examen illisible dans l'archive, repris au prochain rapprochement"),
    "missing_uid": _("StudyInstanceUID absent : examen ignoré"),
    "archive_reset": _("Journal de l'archive réinitialisé : relecture complète"),
}


def report_for_display(report: dict[str, Any]) -> dict[str, Any]:
    """A stored run report with each finding labelled in the reader's language."""
    if not report:
        return {}
    findings = [
        {**finding, "label": FINDING_LABELS.get(finding.get("code", ""), finding.get("code", ""))}
        for finding in report.get("findings", [])
    ]
    times = {
        key: datetime.datetime.fromisoformat(report[key])
        for key in ("started_at", "finished_at")
        if report.get(key)
    }
    return {**report, **times, "findings": findings}
