"""Writes on establishments, memberships, director sign-up applications and invitations."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from establishments.models import (
    DirectorApplication,
    Establishment,
    EstablishmentStatusChange,
    FinessEntry,
    Invitation,
    Membership,
    validate_proof,
)
from establishments.selectors import (
    finess_entry_for,
    has_open_application,
    invitation_refusal,
    invitation_token_hash,
    regional_admins,
)
from portal.identifiers import validate_finess, validate_siret
from portal.mail import send_portal_email
from portal.models import User
from portal.roles import forget_roles

Status = Establishment.Status

# --- Establishments ----------------------------------------------------------------------------

# What a regional administrator may do by hand; joining (prospect -> member) is billing's call,
# when a purchase order becomes active.
ADMIN_STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.PROSPECT: (),
    Status.MEMBER: (Status.SUSPENDED, Status.LEFT),
    Status.SUSPENDED: (Status.MEMBER, Status.LEFT),
    Status.LEFT: (),
}

# Fields of an establishment that the API may write (status moves through its own service).
ESTABLISHMENT_EDITABLE_FIELDS = (
    "finess_eg",
    "finess_ej",
    "siret",
    "name",
    "kind",
    "address",
    "postal_code",
    "city",
    "department",
    "ght",
)


def department_of_postal_code(postal_code: str) -> str:
    """The department a French postal code lies in ("" when it is not a postal code).

    Overseas codes (97x, 98x) name three-character departments; Corsican codes 200xx-201xx are
    Corse-du-Sud (2A), 202xx-206xx Haute-Corse (2B).
    """
    code = postal_code.strip()
    if len(code) != 5 or not (code.isascii() and code.isdigit()):
        return ""
    if code.startswith(("97", "98")):
        return code[:3]
    if code.startswith("20"):
        return "2A" if int(code) < 20200 else "2B"
    return code[:2]


@transaction.atomic
def establishment_set_status(
    *, establishment: Establishment, status: str, by: User | None = None, reason: str = ""
) -> Establishment:
    """Move an establishment to ``status`` (prospect, member, suspended, left).

    Billing calls this when an order becomes active or ends; regional admins when they suspend
    (through ``establishment_change_status``). Each actual move is kept in the history.
    """
    if status not in Establishment.Status.values:
        raise ValueError(f"unknown establishment status: {status}")
    if establishment.status != status:
        EstablishmentStatusChange.objects.create(
            establishment=establishment,
            from_status=establishment.status,
            to_status=status,
            reason=reason,
            changed_by=by,
        )
        establishment.status = status
        establishment.save(update_fields=["status", "updated_at"])
    return establishment


@transaction.atomic
def establishment_change_status(
    *, establishment: Establishment, status: str, by: User, reason: str
) -> Establishment:
    """A regional administrator's move: suspend, reinstate or record a departure, with a reason.

    Only the moves of ``ADMIN_STATUS_TRANSITIONS`` are allowed; raises ``ValidationError``
    otherwise or when the reason is blank.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Indiquez le motif de ce changement de statut."), code="reason_required"
        )
    locked = Establishment.objects.select_for_update().get(pk=establishment.pk)
    if status not in ADMIN_STATUS_TRANSITIONS.get(locked.status, ()):
        raise ValidationError(
            _("Un établissement au statut « %(current)s » ne peut pas passer à « %(target)s »."),
            code="invalid_transition",
            params={
                "current": locked.get_status_display(),
                "target": Status(status).label if status in Status.values else status,
            },
        )
    establishment_set_status(establishment=locked, status=status, by=by, reason=reason)
    establishment.refresh_from_db()
    return establishment


def _normalise_establishment(establishment: Establishment) -> None:
    """Normalise identifiers, fill the department, and run the model's validation."""
    establishment.finess_eg = validate_finess(establishment.finess_eg)
    if establishment.finess_ej.strip():
        establishment.finess_ej = validate_finess(establishment.finess_ej)
    if establishment.siret.strip():
        establishment.siret = validate_siret(establishment.siret)
    if not establishment.department:
        establishment.department = department_of_postal_code(establishment.postal_code)
    establishment.full_clean()


@transaction.atomic
def establishment_create(**fields: Any) -> Establishment:
    """Add an establishment to the network as a prospect (regional administrators, API).

    ``fields`` are among ``ESTABLISHMENT_EDITABLE_FIELDS``; raises ``ValidationError`` with
    per-field messages on bad identifiers or a FINESS already known.
    """
    unknown = set(fields) - set(ESTABLISHMENT_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    establishment = Establishment(status=Status.PROSPECT, **fields)
    _normalise_establishment(establishment)
    establishment.save()
    return establishment


@transaction.atomic
def establishment_update(*, establishment: Establishment, **changes: Any) -> Establishment:
    """Correct an establishment's identity (regional administrators, API).

    Raises ``ValidationError`` with per-field messages, like ``establishment_create``.
    """
    unknown = set(changes) - set(ESTABLISHMENT_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(establishment, field, value)
    if "postal_code" in changes and "department" not in changes:
        establishment.department = ""
    _normalise_establishment(establishment)
    establishment.save(update_fields=[*ESTABLISHMENT_EDITABLE_FIELDS, "updated_at"])
    return establishment


# --- Director sign-up ----------------------------------------------------------------------


def _link(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}"


def _closed_entry_error(entry: FinessEntry) -> ValidationError:
    return ValidationError(
        _(
            "Cet établissement est fermé dans le référentiel FINESS (depuis le %(date)s) : "
            "il ne peut pas rejoindre le réseau."
        ),
        code="closed",
        params={"date": date_format(entry.closed_on) if entry.closed_on else "?"},
    )


def closed_finess_error(*, finess_eg: str) -> ValidationError | None:
    """The refusal to show when ``finess_eg`` is closed in the FINESS reference, else None."""
    entry = finess_entry_for(finess=finess_eg)
    if entry is not None and entry.is_closed:
        return _closed_entry_error(entry)
    return None


DUPLICATE_APPLICATION_MESSAGE = _(
    "Vous avez déjà une demande en cours d'examen pour cet établissement."
)


@transaction.atomic
def director_application_submit(
    *,
    applicant: User,
    finess_eg: str,
    name: str,
    kind: str,
    function: str,
    proof: File,
    finess_ej: str = "",
    siret: str = "",
    address: str = "",
    postal_code: str = "",
    city: str = "",
    finess_entry: FinessEntry | None = None,
    base_url: str = "",
) -> DirectorApplication:
    """Record a declaration that ``applicant`` directs an establishment, with its proof.

    Identifiers are validated (``portal.identifiers``), a FINESS closed in the reference is
    refused, the proof must be a PDF, PNG or JPEG of acceptable size and is stored in private
    storage under a random name. The applicant gets an acknowledgement and every regional
    administrator a notice, once the transaction commits. ``base_url`` (scheme and host) makes
    the e-mailed links absolute. Raises ``ValidationError`` on any refusal.
    """
    finess_eg = validate_finess(finess_eg)
    finess_ej = validate_finess(finess_ej) if finess_ej.strip() else ""
    siret = validate_siret(siret) if siret.strip() else ""
    if kind not in Establishment.Kind.values:
        raise ValidationError(_("Choisissez une catégorie d'établissement."), code="invalid_kind")
    if not name.strip() or not function.strip():
        raise ValidationError(
            _("Le nom de l'établissement et votre fonction sont obligatoires."), code="required"
        )
    # Only link the reference entry of the very number declared.
    if finess_entry is None or finess_entry.finess != finess_eg:
        finess_entry = finess_entry_for(finess=finess_eg)
    if finess_entry is not None and finess_entry.is_closed:
        raise _closed_entry_error(finess_entry)
    if has_open_application(user=applicant, finess_eg=finess_eg):
        raise ValidationError(DUPLICATE_APPLICATION_MESSAGE, code="duplicate")
    proof_type = validate_proof(proof)

    application = DirectorApplication(
        applicant=applicant,
        finess_eg=finess_eg,
        finess_ej=finess_ej,
        siret=siret,
        name=name.strip(),
        kind=kind,
        address=address.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
        finess_entry=finess_entry,
        function=function.strip(),
        proof_content_type=proof_type.content_type,
    )
    # A random name: the uploaded one may carry personal data or path tricks.
    application.proof.save(f"{secrets.token_hex(16)}.{proof_type.extension}", proof, save=False)
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        # Two submissions raced past the check above: the constraint keeps one.
        application.proof.delete(save=False)
        raise ValidationError(DUPLICATE_APPLICATION_MESSAGE, code="duplicate") from None

    send_portal_email(
        to=[applicant.email],
        subject=gettext("Votre demande d'adhésion a bien été reçue"),
        template="emails/establishments/application_received.txt",
        context={"application": application, "applicant": applicant},
        language=applicant.preferred_language,
    )
    review_url = _link(
        base_url, reverse("establishments:application_detail", args=[application.pk])
    )
    for admin in regional_admins():
        send_portal_email(
            to=[admin.email],
            subject=gettext("Nouvelle demande d'adhésion à examiner"),
            template="emails/establishments/application_submitted_admin.txt",
            context={"application": application, "applicant": applicant, "url": review_url},
            language=admin.preferred_language,
        )
    return application


def _lock_for_decision(application: DirectorApplication) -> DirectorApplication:
    """Lock the application row and check that it still awaits a decision."""
    locked = DirectorApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status == DirectorApplication.Status.WITHDRAWN:
        raise ValidationError(
            _("Cette demande a été retirée par son auteur : elle ne peut plus être examinée."),
            code="withdrawn",
        )
    if locked.status != DirectorApplication.Status.SUBMITTED:
        raise ValidationError(
            _(
                "Cette demande a déjà été décidée (%(status)s le %(date)s) : "
                "elle ne peut pas l'être une seconde fois."
            ),
            code="already_decided",
            params={
                "status": locked.get_status_display().lower(),
                "date": date_format(timezone.localtime(locked.decided_at))
                if locked.decided_at
                else "?",
            },
        )
    return locked


@transaction.atomic
def director_application_approve(
    *, application: DirectorApplication, reviewer: User, base_url: str = ""
) -> DirectorApplication:
    """Approve a declaration: the applicant becomes director of the establishment.

    Atomically finds the establishment by its FINESS géographique or creates it (as a
    prospect, from the declared identity), makes the applicant its director, and closes the
    application. Refuses (``ValidationError``) a withdrawn or already decided application.
    The applicant is told by e-mail. Returns the application, ``establishment`` set.
    """
    locked = _lock_for_decision(application)
    entry = locked.finess_entry
    establishment, _created = Establishment.objects.get_or_create(
        finess_eg=locked.finess_eg,
        defaults={
            "finess_ej": locked.finess_ej,
            "siret": locked.siret,
            "name": locked.name,
            "kind": locked.kind,
            "address": locked.address,
            "postal_code": locked.postal_code,
            "city": locked.city,
            "department": (entry.department if entry is not None else "")
            or department_of_postal_code(locked.postal_code),
            "status": Status.PROSPECT,
        },
    )
    Membership.objects.active().get_or_create(
        user=locked.applicant, establishment=establishment, role=Membership.Role.DIRECTOR
    )
    locked.status = DirectorApplication.Status.APPROVED
    locked.decided_by = reviewer
    locked.decided_at = timezone.now()
    locked.establishment = establishment
    locked.save(update_fields=["status", "decided_by", "decided_at", "establishment"])
    applicant = locked.applicant
    send_portal_email(
        to=[applicant.email],
        subject=gettext("Votre demande d'adhésion est approuvée"),
        template="emails/establishments/application_approved.txt",
        context={
            "application": locked,
            "establishment": establishment,
            "url": _link(
                base_url, reverse("establishments:member_detail", args=[establishment.pk])
            ),
        },
        language=applicant.preferred_language,
    )
    application.refresh_from_db()
    return application


@transaction.atomic
def director_application_reject(
    *, application: DirectorApplication, reviewer: User, reason: str
) -> DirectorApplication:
    """Refuse a declaration with a reason, which is e-mailed to the applicant.

    Raises ``ValidationError`` when the reason is blank or the application is no longer open.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Indiquez le motif du refus : il est transmis au demandeur."),
            code="reason_required",
        )
    locked = _lock_for_decision(application)
    locked.status = DirectorApplication.Status.REJECTED
    locked.rejection_reason = reason
    locked.decided_by = reviewer
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
    send_portal_email(
        to=[locked.applicant.email],
        subject=gettext("Votre demande d'adhésion n'a pas été acceptée"),
        template="emails/establishments/application_rejected.txt",
        context={"application": locked},
        language=locked.applicant.preferred_language,
    )
    application.refresh_from_db()
    return application


@transaction.atomic
def director_application_withdraw(
    *, application: DirectorApplication, by: User
) -> DirectorApplication:
    """The applicant takes back a declaration still awaiting review."""
    if application.applicant_id != by.pk:
        raise PermissionDenied
    locked = DirectorApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status != DirectorApplication.Status.SUBMITTED:
        raise ValidationError(
            _("Seule une demande en attente d'examen peut être retirée."), code="not_open"
        )
    locked.status = DirectorApplication.Status.WITHDRAWN
    locked.save(update_fields=["status"])
    application.refresh_from_db()
    return application


# --- Invitations and members ---------------------------------------------------------------


def invitation_validity() -> datetime.timedelta:
    return datetime.timedelta(days=int(getattr(settings, "INVITATION_VALIDITY_DAYS", 14)))


@transaction.atomic
def invitation_create(
    *,
    establishment: Establishment,
    email: str,
    role: str,
    invited_by: User,
    base_url: str = "",
) -> tuple[Invitation, str]:
    """Invite someone, by e-mail, to join ``establishment`` as referent or staff.

    A previous open invitation of the same address for the same role is revoked (the new one
    replaces it). Returns the invitation and the raw token, which only the e-mailed link holds.
    Raises ``ValidationError`` for another role or someone who already holds that role.
    """
    email = email.strip()
    if role not in Invitation.Role.values:
        raise ValidationError(_("On invite un référent ou un membre du personnel."), code="role")
    already = (
        Membership.objects.active()
        .filter(establishment=establishment, role=role, user__email__iexact=email)
        .exists()
    )
    if already:
        raise ValidationError(
            _("Cette personne est déjà rattachée à l'établissement avec ce rôle."),
            code="already_member",
        )
    now = timezone.now()
    Invitation.objects.filter(
        establishment=establishment,
        email__iexact=email,
        role=role,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=now, revoked_by=invited_by)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        establishment=establishment,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by=invited_by,
        expires_at=now + invitation_validity(),
    )
    send_portal_email(
        to=[email],
        subject=gettext("Invitation à rejoindre %(name)s sur le portail d'imagerie")
        % {"name": establishment.name},
        template="emails/establishments/invitation.txt",
        context={
            "invitation": invitation,
            "establishment": establishment,
            "inviter": invited_by,
            "url": _link(
                base_url, reverse("establishments:invitation_accept", kwargs={"token": token})
            ),
        },
    )
    return invitation, token


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """``user`` accepts an invitation and becomes a member with the invited role.

    Refused (``ValidationError``, codes ``expired``, ``revoked``, ``accepted``,
    ``wrong_email``) unless the invitation is open and addressed to one of the user's verified
    e-mail addresses.
    """
    locked = (
        Invitation.objects.select_for_update().select_related("establishment").get(pk=invitation.pk)
    )
    refusal = invitation_refusal(invitation=locked, user=user)
    if refusal is not None:
        code, message = refusal
        raise ValidationError(message, code=code)
    membership, _created = Membership.objects.active().get_or_create(
        user=user, establishment=locked.establishment, role=locked.role
    )
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    forget_roles(user)
    invitation.refresh_from_db()
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """A director withdraws an invitation not yet accepted."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise ValidationError(
            _("Cette invitation a déjà été acceptée : retirez plutôt le membre."),
            code="accepted",
        )
    if locked.revoked_at is not None:
        raise ValidationError(_("Cette invitation est déjà annulée."), code="revoked")
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.save(update_fields=["revoked_at", "revoked_by"])
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def membership_end(*, membership: Membership, by: User) -> Membership:
    """Remove a member from an establishment, keeping the row (with its end) for history.

    The last director cannot be removed: an establishment always keeps someone who can sign
    and name referents.
    """
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.ended_at is not None:
        raise ValidationError(_("Ce rattachement a déjà pris fin."), code="ended")
    if locked.role == Membership.Role.DIRECTOR:
        directors = list(
            Membership.objects.active()
            .select_for_update()
            .filter(establishment_id=locked.establishment_id, role=Membership.Role.DIRECTOR)
            .values_list("pk", flat=True)
        )
        if len(directors) <= 1:
            raise ValidationError(
                _(
                    "L'établissement doit garder au moins un directeur ou une directrice : "
                    "ce rattachement ne peut pas être retiré."
                ),
                code="last_director",
            )
    locked.ended_at = timezone.now()
    locked.ended_by = by
    locked.save(update_fields=["ended_at", "ended_by"])
    membership.refresh_from_db()
    return membership
