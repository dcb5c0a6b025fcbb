"""Writes on practice sites: the telephony directory's leavers and the referent's decision.

The directory sync (practitioners/directory_sync.py) calls ``practice_site_suspend_as_leaver``
when a practitioner disappears from an establishment's directory; the establishment's referent
then keeps them (``practice_site_reinstate``) or ends the site (``practice_site_end``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.models import User
from practitioners.models import AccreditationEvent, PracticeSite
from practitioners.selectors import referents_of, regional_admins
from practitioners.services.common import event_record, link, mail_users, practitioner_recipients

Kind = AccreditationEvent.Kind
Status = PracticeSite.Status


def _locked(site: PracticeSite) -> PracticeSite:
    return (
        PracticeSite.objects.select_for_update(of=("self",))
        .select_related("practitioner__user", "establishment")
        .get(pk=site.pk)
    )


def _refresh(site: PracticeSite, locked: PracticeSite) -> PracticeSite:
    """Copy the stored state back onto the caller's instance, so it sees the change."""
    for field in ("status", "status_reason", "is_leaver", "updated_at"):
        setattr(site, field, getattr(locked, field))
    return site


@transaction.atomic
def practice_site_suspend_as_leaver(*, site: PracticeSite, reason: str) -> PracticeSite:
    """Suspend a site whose practitioner left the establishment's telephony directory.

    The practitioner leaves that establishment's care team at once; the referents are told
    and decide. Idempotent: a site already suspended as a leaver, or ended, is left as is.
    """
    locked = _locked(site)
    if locked.status == Status.ENDED or (locked.status == Status.SUSPENDED and locked.is_leaver):
        return _refresh(site, locked)
    locked.status = Status.SUSPENDED
    locked.is_leaver = True
    locked.status_reason = reason[:300]
    locked.save(update_fields=["status", "is_leaver", "status_reason", "updated_at"])
    event_record(
        kind=Kind.SITE_SUSPENDED,
        practitioner=locked.practitioner,
        practice_site=locked,
        comment=reason,
    )
    referents = list(referents_of(establishment_ids=[locked.establishment_id])) or list(
        regional_admins()
    )
    mail_users(
        users=referents,
        subject=gettext_noop("Un professionnel a quitté l'annuaire téléphonique"),
        template="emails/practitioners/site_leaver.txt",
        context={
            "site": locked,
            "practitioner": locked.practitioner,
            "reason": reason,
            "url": link(
                "", reverse("practitioners:practitioner_detail", args=[locked.practitioner_id])
            ),
        },
    )
    return _refresh(site, locked)


@transaction.atomic
def practice_site_reinstate(*, site: PracticeSite, by: User, reason: str) -> PracticeSite:
    """The referent keeps the practitioner on the site: active again, no longer a leaver."""
    locked = _locked(site)
    if locked.status == Status.ENDED:
        raise ValidationError(_("Ce lieu d'exercice est terminé : il ne peut pas être rétabli."))
    if locked.status == Status.ACTIVE and not locked.is_leaver:
        return _refresh(site, locked)
    locked.status = Status.ACTIVE
    locked.is_leaver = False
    locked.status_reason = reason[:300]
    locked.save(update_fields=["status", "is_leaver", "status_reason", "updated_at"])
    event_record(
        kind=Kind.SITE_REINSTATED,
        practitioner=locked.practitioner,
        practice_site=locked,
        actor=by,
        comment=reason,
    )
    mail_users(
        users=practitioner_recipients(locked.practitioner),
        subject=gettext_noop("Votre lieu d'exercice est rétabli"),
        template="emails/practitioners/site_reinstated.txt",
        context={"site": locked, "reason": reason},
    )
    return _refresh(site, locked)


@transaction.atomic
def practice_site_end(*, site: PracticeSite, by: User, reason: str) -> PracticeSite:
    """The referent ends the site: the practitioner no longer practises there (kept for the
    history). Idempotent on an ended site."""
    locked = _locked(site)
    if locked.status == Status.ENDED:
        return _refresh(site, locked)
    locked.status = Status.ENDED
    locked.status_reason = reason[:300]
    locked.save(update_fields=["status", "status_reason", "updated_at"])
    event_record(
        kind=Kind.SITE_ENDED,
        practitioner=locked.practitioner,
        practice_site=locked,
        actor=by,
        comment=reason,
    )
    mail_users(
        users=practitioner_recipients(locked.practitioner),
        subject=gettext_noop("Fin de votre lieu d'exercice dans le réseau"),
        template="emails/practitioners/site_ended.txt",
        context={"site": locked, "reason": reason, "ended_at": timezone.now()},
    )
    return _refresh(site, locked)
