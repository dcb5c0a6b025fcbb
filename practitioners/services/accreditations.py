"""The life of an accreditation after approval: renewal, reminder, expiry, suspension,
reinstatement and revocation. Each change is one row of the history and one e-mail.

Suspension and revocation take effect at once: the practitioner role only counts
accreditations whose status is active (``Accreditation.objects.active()``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.models import User
from portal.roles import forget_roles
from practitioners.models import Accreditation, AccreditationEvent
from practitioners.selectors import (
    accreditations_due_for_reminder,
    accreditations_past_end,
    practitioner_reviewers,
)
from practitioners.services.common import (
    event_record,
    link,
    mail_users,
    practitioner_recipients,
    reminder_days,
    validity_days,
)

Kind = AccreditationEvent.Kind
Status = Accreditation.Status


def _locked(accreditation: Accreditation) -> Accreditation:
    return (
        Accreditation.objects.select_for_update(of=("self",))
        .select_related("practitioner__user")
        .get(pk=accreditation.pk)
    )


def _required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Le motif est obligatoire.")]})
    return reason


def _set_status(
    *, accreditation: Accreditation, status: str, reason: str, original: Accreditation
) -> None:
    accreditation.status = status
    accreditation.status_reason = reason[:500]
    accreditation.status_changed_at = timezone.now()
    accreditation.save(update_fields=["status", "status_reason", "status_changed_at"])
    original.status = accreditation.status
    original.status_reason = accreditation.status_reason
    original.status_changed_at = accreditation.status_changed_at
    if accreditation.practitioner.user is not None:
        forget_roles(accreditation.practitioner.user)


def _my_accreditation_url(base_url: str) -> str:
    return link(base_url, reverse("practitioners:my_accreditation"))


def _change_status(
    *,
    locked: Accreditation,
    original: Accreditation,
    status: str,
    kind: str,
    by: User,
    reason: str,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> None:
    """A reviewer's decision on an accreditation: new status, history event, e-mail."""
    _set_status(accreditation=locked, status=status, reason=reason, original=original)
    event_record(
        kind=kind, practitioner=locked.practitioner, accreditation=locked, actor=by, comment=reason
    )
    mail_users(
        users=practitioner_recipients(locked.practitioner),
        subject=subject,
        template=template,
        context={"accreditation": locked, **context},
    )


@transaction.atomic
def accreditation_suspend(
    *, accreditation: Accreditation, by: User, reason: str, base_url: str = ""
) -> Accreditation:
    """Suspend an active accreditation: no more access to patient data, from this request on."""
    reason = _required(reason)
    locked = _locked(accreditation)
    if locked.status != Status.ACTIVE:
        raise ValidationError(_("Seule une habilitation active peut être suspendue."))
    _change_status(
        locked=locked,
        original=accreditation,
        status=Status.SUSPENDED,
        kind=Kind.SUSPENDED,
        by=by,
        reason=reason,
        subject=gettext_noop("Votre habilitation est suspendue"),
        template="emails/practitioners/accreditation_suspended.txt",
        context={"reason": reason, "url": _my_accreditation_url(base_url)},
    )
    return accreditation


@transaction.atomic
def accreditation_reinstate(
    *, accreditation: Accreditation, by: User, reason: str = "", base_url: str = ""
) -> Accreditation:
    """Lift a suspension; an accreditation whose period is over becomes expired instead."""
    locked = _locked(accreditation)
    if locked.status != Status.SUSPENDED:
        raise ValidationError(_("Seule une habilitation suspendue peut être rétablie."))
    over = locked.valid_until < timezone.localdate()
    _change_status(
        locked=locked,
        original=accreditation,
        status=Status.EXPIRED if over else Status.ACTIVE,
        kind=Kind.REINSTATED,
        by=by,
        reason=reason.strip(),
        subject=gettext_noop("Votre habilitation est rétablie"),
        template="emails/practitioners/accreditation_reinstated.txt",
        context={"over": over, "url": _my_accreditation_url(base_url)},
    )
    return accreditation


@transaction.atomic
def accreditation_revoke(
    *, accreditation: Accreditation, by: User, reason: str, base_url: str = ""
) -> Accreditation:
    """Revoke an active or suspended accreditation for good (a new request is needed)."""
    reason = _required(reason)
    locked = _locked(accreditation)
    if locked.status not in (Status.ACTIVE, Status.SUSPENDED):
        raise ValidationError(_("Cette habilitation n'est plus en vigueur : rien à révoquer."))
    _change_status(
        locked=locked,
        original=accreditation,
        status=Status.REVOKED,
        kind=Kind.REVOKED,
        by=by,
        reason=reason,
        subject=gettext_noop("Votre habilitation est révoquée"),
        template="emails/practitioners/accreditation_revoked.txt",
        context={"reason": reason, "url": _my_accreditation_url(base_url)},
    )
    return accreditation


@transaction.atomic
def accreditation_renew(
    *, accreditation: Accreditation, by: User, base_url: str = ""
) -> Accreditation:
    """Grant a new period following ``accreditation`` (from the day after its end, or from today
    if it has expired). Returns the new accreditation."""
    locked = _locked(accreditation)
    if locked.status not in (Status.ACTIVE, Status.EXPIRED):
        raise ValidationError(
            _("Une habilitation suspendue ou révoquée ne peut pas être renouvelée.")
        )
    later = (
        Accreditation.objects.filter(
            practitioner=locked.practitioner, valid_until__gt=locked.valid_until
        )
        .exclude(pk=locked.pk)
        .exists()
    )
    if later:
        raise ValidationError(_("Cette habilitation a déjà été renouvelée."))
    today = timezone.localdate()
    start = max(today, locked.valid_until + datetime.timedelta(days=1))
    renewed = Accreditation.objects.create(
        practitioner=locked.practitioner,
        valid_from=start,
        valid_until=start + datetime.timedelta(days=validity_days()),
        granted_by=by,
    )
    event_record(
        kind=Kind.RENEWED,
        practitioner=locked.practitioner,
        accreditation=renewed,
        actor=by,
        comment=_("du %(start)s au %(end)s")
        % {"start": renewed.valid_from.isoformat(), "end": renewed.valid_until.isoformat()},
    )
    if locked.practitioner.user is not None:
        forget_roles(locked.practitioner.user)
    mail_users(
        users=practitioner_recipients(locked.practitioner),
        subject=gettext_noop("Votre habilitation est renouvelée"),
        template="emails/practitioners/accreditation_renewed.txt",
        context={"accreditation": renewed, "url": _my_accreditation_url(base_url)},
    )
    return renewed


@transaction.atomic
def accreditation_request_renewal(
    *, accreditation: Accreditation, user: User, base_url: str = ""
) -> bool:
    """The practitioner asks their reviewers to renew; once per accreditation.

    Returns False when the renewal had already been asked for.
    """
    locked = _locked(accreditation)
    if locked.practitioner.user_id != user.pk:
        raise ValidationError(_("Seul le professionnel concerné peut demander le renouvellement."))
    if locked.status != Status.ACTIVE:
        raise ValidationError(_("Seule une habilitation active peut être renouvelée."))
    now = timezone.now()
    claimed = Accreditation.objects.filter(pk=locked.pk, renewal_requested_at__isnull=True).update(
        renewal_requested_at=now
    )
    if not claimed:
        return False
    accreditation.renewal_requested_at = now
    event_record(
        kind=Kind.RENEWAL_REQUESTED,
        practitioner=locked.practitioner,
        accreditation=locked,
        actor=user,
    )
    mail_users(
        users=practitioner_reviewers(practitioner=locked.practitioner),
        subject=gettext_noop("Demande de renouvellement d'habilitation"),
        template="emails/practitioners/renewal_requested.txt",
        context={
            "accreditation": locked,
            "practitioner": locked.practitioner,
            "url": link(
                base_url,
                reverse("practitioners:practitioner_detail", args=[locked.practitioner_id]),
            ),
        },
    )
    return True


@transaction.atomic
def accreditations_send_renewal_reminders(*, today: datetime.date | None = None) -> int:
    """Remind practitioners whose accreditation ends within ``ACCREDITATION_REMINDER_DAYS``.

    Once per accreditation: rows are locked (a concurrent run skips them) and stamped with
    ``reminder_sent_at``. Returns how many reminders were sent.
    """
    day = today or timezone.localdate()
    due = list(
        accreditations_due_for_reminder(today=day, days=reminder_days())
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("practitioner__user")
    )
    if not due:
        return 0
    now = timezone.now()
    Accreditation.objects.filter(pk__in=[a.pk for a in due]).update(reminder_sent_at=now)
    AccreditationEvent.objects.bulk_create(
        AccreditationEvent(
            kind=Kind.REMINDER_SENT,
            practitioner=accreditation.practitioner,
            accreditation=accreditation,
            created_at=now,
        )
        for accreditation in due
    )
    for accreditation in due:
        recipients = practitioner_recipients(accreditation.practitioner)
        if not recipients:
            continue
        mail_users(
            users=recipients,
            subject=gettext_noop("Votre habilitation arrive à échéance"),
            template="emails/practitioners/renewal_reminder.txt",
            context={"accreditation": accreditation, "url": _my_accreditation_url("")},
        )
    return len(due)


@transaction.atomic
def accreditations_expire(*, today: datetime.date | None = None) -> int:
    """Mark as expired the active accreditations whose last valid day is before ``today``.

    The role already stops counting them the day after their end; this records the fact and
    tells the practitioner (unless a renewal follows). Returns how many expired.
    """
    day = today or timezone.localdate()
    ended = list(
        accreditations_past_end(today=day)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("practitioner__user")
    )
    if not ended:
        return 0
    now = timezone.now()
    Accreditation.objects.filter(pk__in=[a.pk for a in ended]).update(
        status=Status.EXPIRED, status_changed_at=now
    )
    AccreditationEvent.objects.bulk_create(
        AccreditationEvent(
            kind=Kind.EXPIRED,
            practitioner=accreditation.practitioner,
            accreditation=accreditation,
            created_at=now,
        )
        for accreditation in ended
    )
    renewed = set(
        Accreditation.objects.filter(
            practitioner_id__in={a.practitioner_id for a in ended},
            status=Status.ACTIVE,
            valid_until__gte=day,
        ).values_list("practitioner_id", flat=True)
    )
    for accreditation in ended:
        recipients = practitioner_recipients(accreditation.practitioner)
        if accreditation.practitioner_id in renewed or not recipients:
            continue
        mail_users(
            users=recipients,
            subject=gettext_noop("Votre habilitation a expiré"),
            template="emails/practitioners/accreditation_expired.txt",
            context={"accreditation": accreditation, "url": _my_accreditation_url("")},
        )
    return len(ended)
