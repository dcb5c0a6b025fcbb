"""Writes of the imaging app: archive sources, and linking patient records.

The sync itself (reading an archive into the index) lives in ``imaging.sync``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.crypto import UnreadableSecret, decrypt_secret, encrypt_secret
from imaging.models import (
    ArchiveSource,
    ImagingStudy,
    Patient,
    PatientIdentifier,
    PatientLinkEvent,
    validate_viewer_url,
)
from imaging.orthanc import OrthancClient, OrthancError
from imaging.selectors import callback_sources_forget
from portal.celery import queue_on_commit

if TYPE_CHECKING:
    from establishments.models import Establishment
    from portal.models import User


# --- Archive sources ---------------------------------------------------------------------------


def _clean_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError(
            {"base_url": _("Adresse invalide : indiquez une URL http:// ou https://.")}
        ) from exc
    return url


# The archive's password towards the portal is a machine secret: long, generated, never typed.
CALLBACK_PASSWORD_MIN_LENGTH = 16


def _clean_viewer_url(viewer_url: str) -> str:
    url = viewer_url.strip()
    if url:
        try:
            validate_viewer_url(url)
        except ValidationError as exc:
            raise ValidationError({"viewer_url": exc.messages}) from exc
    return url


def _set_callback_credentials(
    source: ArchiveSource, *, username: str, password: str | None
) -> list[str]:
    """Give ``source`` the user and password the archive presents when it calls the portal;
    an empty ``password`` keeps the stored one, an empty ``username`` removes both. Returns
    the changed fields."""
    username = username.strip()
    if not username:
        if password:
            raise ValidationError(
                {"callback_username": _("Indiquez l'utilisateur qui accompagne ce mot de passe.")}
            )
        source.callback_username = ""
        source.callback_password_hash = ""
        return ["callback_username", "callback_password_hash"]
    taken = ArchiveSource.objects.filter(callback_username=username).exclude(pk=source.pk)
    if taken.exists():
        raise ValidationError(
            {"callback_username": _("Cet utilisateur est déjà celui d'une autre archive.")}
        )
    fields = ["callback_username"]
    source.callback_username = username
    if password:
        if len(password) < CALLBACK_PASSWORD_MIN_LENGTH:
            raise ValidationError(
                {
                    "callback_password": _(
                        "Le mot de passe de l'archive doit compter au moins %(count)s caractères."
                    )
                    % {"count": CALLBACK_PASSWORD_MIN_LENGTH}
                }
            )
        source.callback_password_hash = make_password(password)
        fields.append("callback_password_hash")
    elif not source.callback_password_hash:
        raise ValidationError(
            {
                "callback_password": _(
                    "Le mot de passe de l'archive auprès du portail est obligatoire."
                )
            }
        )
    return fields


@transaction.atomic
def archive_source_create(
    *,
    establishment: Establishment,
    base_url: str,
    username: str,
    password: str,
    enabled: bool = True,
    callback_username: str = "",
    callback_password: str = "",
    viewer_url: str = "",
) -> ArchiveSource:
    """Connect ``establishment``'s Orthanc archive to the index (one archive each).

    ``callback_username`` and ``callback_password`` are what the archive's authorization
    plugin presents when it asks the portal (``/orthanc-auth/``); ``viewer_url`` is the
    address template of the archive's viewer (``imaging.models.validate_viewer_url``).
    """
    if ArchiveSource.objects.filter(establishment=establishment).exists():
        raise ValidationError(
            {"establishment": _("Cet établissement a déjà une archive configurée.")}
        )
    source = ArchiveSource(
        establishment=establishment,
        base_url=_clean_base_url(base_url),
        username=username.strip(),
        password_encrypted=encrypt_secret(password),
        enabled=enabled,
        viewer_url=_clean_viewer_url(viewer_url),
    )
    _set_callback_credentials(source, username=callback_username, password=callback_password)
    source.save()
    return source


@transaction.atomic
def archive_source_update(
    *,
    source: ArchiveSource,
    base_url: str,
    username: str,
    password: str | None = None,
    enabled: bool,
    callback_username: str | None = None,
    callback_password: str | None = None,
    viewer_url: str | None = None,
) -> ArchiveSource:
    """Change an archive's address, user or state; an empty ``password`` keeps the stored one.

    ``callback_username`` and ``viewer_url`` left to None keep the stored values; an empty
    ``callback_password`` keeps the stored one, an empty ``callback_username`` removes the
    archive's access to the portal. A new address resets the cursor: another archive has
    another change log.
    """
    url = _clean_base_url(base_url)
    fields = ["base_url", "username", "enabled", "updated_at"]
    if viewer_url is not None:
        source.viewer_url = _clean_viewer_url(viewer_url)
        fields.append("viewer_url")
    if callback_username is not None:
        fields += _set_callback_credentials(
            source, username=callback_username, password=callback_password
        )
    if url != source.base_url:
        source.cursor = 0
        source.archive_last_seq = 0
        fields += ["cursor", "archive_last_seq"]
    source.base_url = url
    source.username = username.strip()
    source.enabled = enabled
    if password:
        source.password_encrypted = encrypt_secret(password)
        fields.append("password_encrypted")
    if enabled and source.next_attempt_at is not None:
        # A corrected configuration deserves a try now rather than after the backoff.
        source.next_attempt_at = None
        fields.append("next_attempt_at")
    source.save(update_fields=fields)
    # This process forgets the source it kept for the archive's calls (the others within
    # ACCESS_DECISION_VALIDITY_S).
    callback_sources_forget()
    return source


@transaction.atomic
def archive_source_remove(*, source: ArchiveSource) -> None:
    """Disconnect an archive. Its studies stay in the index, no longer tied to a source."""
    source.delete()
    callback_sources_forget()


def archive_source_client(
    source: ArchiveSource, *, username: str | None = None, timeout_s: float | None = None
) -> OrthancClient:
    """A client for ``source`` with its stored credentials (``username`` overrides the stored
    user, ``timeout_s`` the default read timeout); raises ``OrthancError`` of kind
    "configuration" when the stored password cannot be read any more."""
    try:
        password = decrypt_secret(source.password_encrypted)
    except UnreadableSecret as exc:
        error = OrthancError(
            _(
                "Le mot de passe enregistré est illisible (la clé du portail a changé) : "
                "saisissez-le de nouveau."
            )
        )
        error.kind = "configuration"
        raise error from exc
    return OrthancClient(
        source.base_url, username or source.username, password, timeout_s=timeout_s
    )


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str


def archive_connection_test(*, client: OrthancClient) -> ConnectionTest:
    """Ask the archive for ``/system`` and ``/changes?last``: what the sync needs to read."""
    try:
        system = client.system()
        last = client.last_change_seq()
    except OrthancError as exc:
        return ConnectionTest(ok=False, message=exc.message)
    finally:
        client.close()
    return ConnectionTest(
        ok=True,
        message=_(
            "Connexion réussie : %(name)s (Orthanc %(version)s), %(last)s changements "
            "dans le journal."
        )
        % {
            "name": system.get("Name", "Orthanc"),
            "version": system.get("Version", "?"),
            "last": last,
        },
    )


@transaction.atomic
def archive_source_request_sync(*, source: ArchiveSource) -> ArchiveSource:
    """Queue a sync of ``source`` now (the "Synchroniser maintenant" button)."""
    from imaging.tasks import sync_source

    if source.state != ArchiveSource.State.RUNNING:
        source.state = ArchiveSource.State.QUEUED
        source.progress_done = 0
        source.progress_total = 0
        source.next_attempt_at = None
        source.save(update_fields=["state", "progress_done", "progress_total", "next_attempt_at"])
    queue_on_commit(sync_source, source.pk)
    return source


def archive_sources_mark_queued(*, source_ids: list[int]) -> None:
    """Show the archives the scheduler is about to sync as queued."""
    ArchiveSource.objects.filter(pk__in=source_ids).exclude(
        state=ArchiveSource.State.RUNNING
    ).update(state=ArchiveSource.State.QUEUED, updated_at=timezone.now())


# --- Patient identity --------------------------------------------------------------------------


def _actor_label(by: User | None) -> str:
    return by.email if by is not None else "synchronisation"


def _identifier_label(identifier: PatientIdentifier) -> str:
    return f"{identifier.establishment.finess_eg}:{identifier.patient_id}"


def identifier_move(
    *,
    identifier: PatientIdentifier,
    to_patient: Patient,
    action: str,
    by: User | None = None,
    reason: str = "",
) -> None:
    """Point ``identifier`` and its studies at ``to_patient`` and record who did it.

    The record left behind without identifiers is marked merged into ``to_patient``. Runs
    inside the caller's transaction (the sync's page, or a link service).
    """
    previous = identifier.patient_record
    identifier.patient_record = to_patient
    identifier.save(update_fields=["patient_record", "updated_at"])
    ImagingStudy.objects.filter(patient_identifier=identifier).update(
        patient=to_patient, updated_at=timezone.now()
    )
    PatientLinkEvent.objects.create(
        action=action,
        patient_pk=to_patient.pk,
        other_patient_pk=previous.pk,
        identifier=_identifier_label(identifier),
        reason=reason,
        by=by,
        by_label=_actor_label(by),
    )
    if not previous.identifiers.exists():
        _patient_retire(patient=previous, into=to_patient)


def _patient_retire(*, patient: Patient, into: Patient) -> None:
    """Fold an emptied record into ``into``: its INS, account and stray studies move over."""
    ImagingStudy.objects.filter(patient=patient).update(patient=into, updated_at=timezone.now())
    ins = patient.ins if patient.ins and not into.ins else None
    user_id = patient.user_id if patient.user_id and not into.user_id else None
    patient.merged_into = into
    if ins:
        patient.ins = None
    if user_id:
        patient.user = None
    # Freed first: INS and account are unique, the survivor takes them next.
    patient.save(update_fields=["merged_into", "ins", "user", "updated_at"])
    if ins or user_id:
        into.ins = ins or into.ins
        into.user_id = user_id or into.user_id
        into.save(update_fields=["ins", "user", "updated_at"])
    Patient.objects.filter(merged_into=patient).update(merged_into=into)


@transaction.atomic
def patient_link(*, patient: Patient, other: Patient, by: User, reason: str = "") -> Patient:
    """Merge ``other`` into ``patient``: one person known at several establishments.

    Refused when both records carry different INS, or both belong to a portal account.
    Returns the surviving record (``patient``).
    """
    if patient.pk == other.pk:
        raise ValidationError(_("Un dossier ne peut pas être rapproché de lui-même."))
    if patient.merged_into_id or other.merged_into_id:
        raise ValidationError(_("Ce dossier a déjà été fusionné dans un autre."))
    if patient.ins and other.ins and patient.ins != other.ins:
        raise ValidationError(
            _("Les deux dossiers portent des INS différents : ce ne sont pas la même personne.")
        )
    if patient.user_id and other.user_id:
        raise ValidationError(
            _("Les deux dossiers sont rattachés à des comptes patients différents.")
        )
    identifiers = list(other.identifiers.select_related("establishment"))
    for identifier in identifiers:
        identifier.ins_link_blocked = False
        identifier.save(update_fields=["ins_link_blocked", "updated_at"])
        identifier_move(
            identifier=identifier,
            to_patient=patient,
            action=PatientLinkEvent.Action.LINK,
            by=by,
            reason=reason,
        )
    if not identifiers:
        PatientLinkEvent.objects.create(
            action=PatientLinkEvent.Action.LINK,
            patient_pk=patient.pk,
            other_patient_pk=other.pk,
            reason=reason,
            by=by,
            by_label=_actor_label(by),
        )
        _patient_retire(patient=other, into=patient)
    return patient


@transaction.atomic
def patient_unlink(*, identifier: PatientIdentifier, by: User, reason: str = "") -> Patient:
    """Separate ``identifier`` (and its studies) from its record into a record of its own.

    The sync will not link it back by INS: only a referent can link it again.
    """
    patient = identifier.patient_record
    if patient.identifiers.count() < 2:
        raise ValidationError(_("Ce dossier n'a qu'un identifiant : il n'y a rien à séparer."))
    separated = Patient.objects.create(
        patient_name=identifier.patient_name or patient.patient_name,
        patient_birth_date=identifier.patient_birth_date,
        patient_sex=identifier.patient_sex,
        demo=identifier.demo,
    )
    identifier.ins_link_blocked = True
    identifier.save(update_fields=["ins_link_blocked", "updated_at"])
    identifier_move(
        identifier=identifier,
        to_patient=separated,
        action=PatientLinkEvent.Action.UNLINK,
        by=by,
        reason=reason,
    )
    return separated
