"""Activation of the patient portal: staff hand a patient a printed access code; with it and
their birth date, the patient ties their signed-in account to their record.

A code is 12 characters of an alphabet without look-alikes (about 60 bits), printed in three
groups; the portal keeps a keyed hash of it only (``salted_hmac``: a stolen database does not
let anyone try codes offline; rotating ``SECRET_KEY`` voids the codes not yet used). A code
is single-use, expires after ``PATIENT_ACCESS_CODE_DAYS`` days, and locks after
``PATIENT_ACCESS_CODE_MAX_FAILURES`` wrong birth dates. Every failure answers the same
sentence, whether the code is unknown, used, expired, locked or the birth date wrong: the page
never tells whether a code exists. One account and one address may try
``PATIENT_ACTIVATION_ATTEMPTS`` times per quarter of an hour (counters in the cache, Redis).
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from access import selectors
from access.activation_models import PatientAccessCode
from establishments.models import Establishment
from imaging.models import Patient
from portal.attempts import attempts_count
from portal.models import User

logger = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 12
CODE_GROUP = 4
ATTEMPT_WINDOW_S = 15 * 60
_HASH_SALT = "access.activation.patient-access-code"


class ActivationRefused(Exception):
    """The attempt failed; ``str(error)`` is what the patient is told."""


class TooManyAttempts(ActivationRefused):
    """Too many attempts from this account or address: wait before trying again."""


def code_generate() -> str:
    """A new code, printed as ``ABCD-EFGH-JKLM``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def code_normalize(value: str) -> str:
    """What the patient typed, as it was generated: upper case, without spaces or dashes."""
    return "".join(char for char in value.upper() if char.isalnum())


def code_hash(value: str) -> str:
    return salted_hmac(_HASH_SALT, code_normalize(value), algorithm="sha256").hexdigest()


def code_lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=int(settings.PATIENT_ACCESS_CODE_DAYS))


@dataclass(frozen=True)
class IssuedCode:
    code: str  # printed once on the handout, never stored
    record: PatientAccessCode


def access_code_establishments(*, user: User, patient: Patient) -> list[Establishment]:
    """Producing establishments of ``patient`` on whose behalf ``user`` may hand a code: their
    care team or their referent (those who already see the patient's identity)."""
    return selectors.staff_sharing(user=user, patient=patient).establishments


def pending_code(*, patient: Patient) -> PatientAccessCode | None:
    """The code handed to ``patient`` that may still be used, if any."""
    return (
        PatientAccessCode.objects.pending()
        .filter(patient=patient)
        .select_related("establishment")
        .first()
    )


@transaction.atomic
def access_code_issue(*, by: User, patient: Patient, establishment: Establishment) -> IssuedCode:
    """Issue a code for ``patient`` on behalf of ``establishment``; the codes not yet used
    are cancelled (the latest sheet handed over is the only valid one)."""
    if establishment not in access_code_establishments(user=by, patient=patient):
        raise PermissionDenied
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.merged_into_id is not None:
        raise ValidationError(
            _("Ce dossier patient a été fusionné dans un autre : utilisez le dossier conservé.")
        )
    if patient.user_id is not None:
        raise ValidationError(
            _(
                "Ce patient a déjà activé son espace patient. S'il a perdu son mot de passe, "
                "il le réinitialise depuis la page de connexion."
            )
        )
    if patient.patient_birth_date is None:
        raise ValidationError(
            _(
                "La date de naissance de ce patient est inconnue : le patient ne pourrait pas "
                "confirmer son identité. Complétez d'abord son dossier."
            )
        )
    now = timezone.now()
    PatientAccessCode.objects.pending(now).filter(patient=patient).update(cancelled_at=now)
    code = code_generate()
    record = PatientAccessCode.objects.create(
        patient=patient,
        establishment=establishment,
        issued_by=by,
        code_hash=code_hash(code),
        issued_at=now,
        expires_at=now + code_lifetime(),
    )
    logger.info("patient access code %s issued by user %s", record.pk, by.pk)
    return IssuedCode(code=code, record=record)


def _failure_text() -> str:
    return _(
        "Ce code et cette date de naissance ne permettent pas d'activer un espace patient. "
        "Vérifiez votre saisie. Un code sert une seule fois, expire après %(days)s jours et se "
        "bloque après plusieurs essais : en cas de doute, demandez un nouveau code à "
        "l'établissement qui vous l'a remis."
    ) % {"days": settings.PATIENT_ACCESS_CODE_DAYS}


def _count_attempt(*, user: User, ip: str | None) -> None:
    """Count one attempt per account and per address; refuse beyond the allowance."""
    keys = [f"access:activation:user:{user.pk}"]
    if ip:
        keys.append(f"access:activation:ip:{ip}")
    if attempts_count(keys, window_s=ATTEMPT_WINDOW_S) > int(settings.PATIENT_ACTIVATION_ATTEMPTS):
        raise TooManyAttempts(_("Trop d'essais d'activation. Réessayez dans un quart d'heure."))


def patient_activate(
    *, user: User, code: str, birth_date: datetime.date, ip: str | None = None
) -> Patient:
    """Tie ``user``'s account to the record the code was issued for, if ``birth_date`` is the
    patient's; raise ``ActivationRefused`` with what to tell them otherwise."""
    if Patient.objects.filter(user=user).exists():
        raise ActivationRefused(
            _("Votre compte est déjà relié à un dossier patient : un compte, un dossier.")
        )
    _count_attempt(user=user, ip=ip)
    digest = code_hash(code)
    with transaction.atomic():
        record = (
            PatientAccessCode.objects.select_for_update()
            .select_related("patient")
            .filter(code_hash=digest)
            .first()
        )
        if record is None or record.state != "pending":
            outcome = "unknown" if record is None else record.state
        elif record.patient.patient_birth_date != birth_date:
            record.failed_attempts += 1
            fields = ["failed_attempts"]
            if record.failed_attempts >= int(settings.PATIENT_ACCESS_CODE_MAX_FAILURES):
                record.locked_at = timezone.now()
                fields.append("locked_at")
            record.save(update_fields=fields)
            outcome = "locked" if record.locked_at else "wrong birth date"
        elif record.patient.user_id is not None or record.patient.merged_into_id is not None:
            outcome = "record already active"
        else:
            patient = record.patient
            patient.user = user
            patient.save(update_fields=["user", "updated_at"])
            record.used_at = timezone.now()
            record.used_by = user
            record.save(update_fields=["used_at", "used_by"])
            logger.info("patient access code %s used by user %s", record.pk, user.pk)
            return patient
    # The failure is counted (committed above) before the patient is told.
    logger.info(
        "patient activation refused for user %s (%s, code %s)",
        user.pk,
        outcome,
        record.pk if record else "-",
    )
    raise ActivationRefused(_failure_text())
