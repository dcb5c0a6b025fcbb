"""Writes of the access app: grants, opposition, emergency accesses and their review.

Each takes effect at once: ``access.decision`` reads these rows on every decision, and no
cache keeps a decision longer than ``ACCESS_DECISION_VALIDITY_S``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from access import selectors
from access.models import AccessGrant, BreakGlassAccess, Opposition
from establishments.models import Establishment
from imaging.models import Patient
from portal.mail import send_portal_email
from portal.models import User
from portal.roles import Role, has_role
from practitioners.models import Accreditation, Practitioner


def _link(name: str) -> str:
    # E-mails carry a link to a page, never patient data (they leave the hosting provider).
    return f"{settings.PORTAL_BASE_URL}{reverse(name)}"


def _live_record(patient: Patient) -> None:
    if patient.merged_into_id is not None:
        raise ValidationError(
            _("Ce dossier patient a été fusionné dans un autre : utilisez le dossier conservé.")
        )


def _refuse_if_opposed(patient: Patient) -> None:
    if selectors.active_opposition(patient=patient) is not None:
        raise ValidationError(
            _(
                "Le patient s'oppose au partage de ses images : aucun accès ne peut être "
                "ouvert hors de l'équipe de soins tant que l'opposition n'est pas retirée."
            )
        )


@transaction.atomic
def grant_create(
    *,
    by: User,
    practitioner: Practitioner,
    patient: Patient,
    reason: str,
    valid_until: datetime.datetime,
    comment: str = "",
    establishment: Establishment | None = None,
) -> AccessGrant:
    """Let ``practitioner`` see ``patient``'s imaging until ``valid_until``.

    Given by the patient (their choice) or by staff of a producing establishment (its care
    team or referent), on that establishment's behalf, to an accredited practitioner.
    """
    _live_record(patient)
    now = timezone.now()
    is_patient = selectors.is_the_patient(user=by, patient=patient)
    if is_patient:
        if reason != AccessGrant.Reason.PATIENT_CHOICE:
            raise ValidationError({"reason": _("Un patient donne accès par son propre choix.")})
        establishment = None
    else:
        allowed = selectors.sharing_establishments(user=by, patient=patient)
        if not allowed:
            raise PermissionDenied(
                _("Seule l'équipe d'un établissement producteur peut partager ce patient.")
            )
        if reason not in (AccessGrant.Reason.REFERRAL, AccessGrant.Reason.CARE_TEAM_EXTENSION):
            raise ValidationError({"reason": _("Choisissez le motif du partage.")})
        if establishment is None and len(allowed) == 1:
            establishment = allowed[0]
        if establishment is None or establishment not in allowed:
            raise ValidationError(
                {"establishment": _("Choisissez l'établissement au nom duquel vous partagez.")}
            )
    if not Accreditation.objects.active().filter(practitioner=practitioner).exists():
        raise ValidationError(
            {"practitioner": _("Ce professionnel n'a pas d'habilitation en cours au réseau.")}
        )
    if practitioner.user_id == by.pk:
        raise ValidationError({"practitioner": _("Vous ne pouvez pas vous donner accès.")})
    longest = now + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS)
    if valid_until <= now:
        raise ValidationError({"valid_until": _("La fin de l'accès doit être dans le futur.")})
    if valid_until > longest:
        raise ValidationError(
            {
                "valid_until": _("Un accès dure au plus %(days)d jours.")
                % {"days": settings.ACCESS_GRANT_MAX_DAYS}
            }
        )
    # Serialise writes on one patient (opposition_record takes the same lock): two clicks
    # cannot open two overlapping grants, nor a grant slip in beside a new opposition.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    _refuse_if_opposed(patient)
    current = selectors.active_grant(practitioner=practitioner, patient=patient)
    if current is not None:
        raise ValidationError(
            _("Ce professionnel a déjà accès à ce patient jusqu'au %(date)s.")
            % {"date": date_format(timezone.localtime(current.valid_until), "DATETIME_FORMAT")}
        )
    grant = AccessGrant.objects.create(
        practitioner=practitioner,
        patient=patient,
        reason=reason,
        comment=comment.strip(),
        granted_by=by,
        establishment=establishment,
        valid_from=now,
        valid_until=valid_until,
    )
    if practitioner.user is not None:
        send_portal_email(
            to=[practitioner.user.email],
            subject=_("Un accès à un dossier d'imagerie vous a été ouvert"),
            template="emails/access/grant_created.txt",
            context={"grant": grant, "url": _link("access:my-patients")},
            language=practitioner.user.preferred_language or None,
        )
    return grant


@transaction.atomic
def grant_revoke(*, by: User, grant: AccessGrant, reason: str = "") -> AccessGrant:
    """End ``grant`` now: the next decision refuses."""
    locked = AccessGrant.objects.select_for_update().select_related("patient").get(pk=grant.pk)
    if not selectors.can_revoke_grant(user=by, grant=locked):
        raise PermissionDenied(_("Vous ne pouvez pas révoquer cet accès."))
    if locked.revoked_at is not None:
        raise ValidationError(_("Cet accès est déjà révoqué."))
    if locked.valid_until <= timezone.now():
        raise ValidationError(_("Cet accès a déjà pris fin."))
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.revocation_reason = reason.strip()[:500]
    locked.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    return locked


@transaction.atomic
def opposition_record(*, by: User, patient: Patient, comment: str = "") -> Opposition:
    """Record the patient's opposition to sharing: by the patient, or by a referent of a
    producing establishment at the patient's request. Effective at once."""
    _live_record(patient)
    if selectors.is_the_patient(user=by, patient=patient):
        source = Opposition.Source.PATIENT
    elif selectors.referent_establishments_knowing(user=by, patient=patient):
        source = Opposition.Source.REFERENT
    else:
        raise PermissionDenied(
            _("Seul le patient ou un référent d'un établissement producteur peut le faire.")
        )
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if selectors.active_opposition(patient=patient) is not None:
        raise ValidationError(_("L'opposition de ce patient est déjà enregistrée."))
    try:
        with transaction.atomic():
            return Opposition.objects.create(
                patient=patient, source=source, comment=comment.strip(), recorded_by=by
            )
    except IntegrityError as error:  # a concurrent request recorded it first
        raise ValidationError(_("L'opposition de ce patient est déjà enregistrée.")) from error


@transaction.atomic
def opposition_withdraw(*, by: User, patient: Patient, comment: str = "") -> Opposition:
    """Withdraw the patient's opposition: the grants still in force apply again."""
    if not selectors.can_manage_opposition_of(user=by, patient=patient):
        raise PermissionDenied(
            _("Seul le patient ou un référent d'un établissement producteur peut le faire.")
        )
    opposition = Opposition.objects.select_for_update().active().filter(patient=patient).first()
    if opposition is None:
        raise ValidationError(_("Ce patient n'a pas d'opposition en cours."))
    opposition.withdrawn_at = timezone.now()
    opposition.withdrawn_by = by
    opposition.withdrawal_comment = comment.strip()
    opposition.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_comment"])
    return opposition


@transaction.atomic
def break_glass_open(
    *,
    user: User,
    patient: Patient,
    category: str,
    justification: str,
    source_ip: str | None = None,
) -> BreakGlassAccess:
    """Open emergency access to one patient for ``BREAK_GLASS_DURATION_S``.

    The caller has confirmed the user's second factor. Refused when the patient opposes
    sharing. Auditors are told by e-mail; the patient is told at their next visit.
    """
    _live_record(patient)
    practitioner = selectors.practitioner_in_force(user=user)
    if practitioner is None:
        raise PermissionDenied(_("Un accès d'urgence demande une habilitation en cours."))
    errors: dict[str, str] = {}
    if category not in BreakGlassAccess.Category.values:
        errors["category"] = _("Choisissez le type d'urgence.")
    text = " ".join(justification.split())
    minimum = settings.BREAK_GLASS_JUSTIFICATION_MIN_LENGTH
    if len(text) < minimum:
        errors["justification"] = _(
            "Décrivez l'urgence en %(minimum)d caractères au moins (%(length)d saisis)."
        ) % {"minimum": minimum, "length": len(text)}
    if errors:
        raise ValidationError(errors)
    _refuse_if_opposed(patient)
    now = timezone.now()
    current = (
        BreakGlassAccess.objects.active(now)
        .filter(user=user, patient=patient)
        .order_by("-expires_at")
        .first()
    )
    if current is not None:
        raise ValidationError(
            _("Un accès d'urgence à ce patient vous est déjà ouvert jusqu'à %(time)s.")
            % {"time": date_format(timezone.localtime(current.expires_at), "TIME_FORMAT")}
        )
    access = BreakGlassAccess.objects.create(
        user=user,
        practitioner=practitioner,
        patient=patient,
        category=category,
        justification=justification.strip(),
        opened_at=now,
        expires_at=now + datetime.timedelta(seconds=settings.BREAK_GLASS_DURATION_S),
        source_ip=source_ip,
    )
    recipients = list(selectors.auditors().values_list("email", flat=True))
    if recipients:
        send_portal_email(
            to=recipients,
            subject=_("Accès d'urgence ouvert : à examiner"),
            template="emails/access/break_glass_opened.txt",
            context={"access": access, "url": _link("access:break-glass-queue")},
        )
    return access


@transaction.atomic
def break_glass_review(
    *, by: User, access: BreakGlassAccess, justified: bool, comment: str
) -> BreakGlassAccess:
    """An auditor's verdict on an emergency access, with a comment."""
    if not has_role(by, Role.AUDITOR):
        raise PermissionDenied(_("Seul un auditeur examine les accès d'urgence."))
    if access.user_id == by.pk:
        raise PermissionDenied(_("Vous ne pouvez pas examiner votre propre accès d'urgence."))
    text = comment.strip()
    if not text:
        raise ValidationError({"comment": _("Expliquez votre décision en quelques mots.")})
    locked = BreakGlassAccess.objects.select_for_update().get(pk=access.pk)
    if locked.review != BreakGlassAccess.Review.PENDING:
        raise ValidationError(_("Cet accès d'urgence a déjà été examiné."))
    locked.review = (
        BreakGlassAccess.Review.JUSTIFIED if justified else BreakGlassAccess.Review.UNJUSTIFIED
    )
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.review_comment = text
    locked.save(update_fields=["review", "reviewed_by", "reviewed_at", "review_comment"])
    return locked


@transaction.atomic
def break_glass_acknowledge(*, by: User, access: BreakGlassAccess) -> BreakGlassAccess:
    """The patient has seen the notice of an emergency access to their record (or to a
    record since merged into theirs)."""
    if not selectors.is_the_patient(user=by, patient=selectors.live_record(access.patient)):
        raise PermissionDenied
    if access.patient_acknowledged_at is None:
        access.patient_acknowledged_at = timezone.now()
        access.save(update_fields=["patient_acknowledged_at"])
    return access
