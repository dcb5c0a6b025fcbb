"""What every write of the app shares: the history table, e-mails and settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.mail import send_portal_email, send_user_email
from portal.models import User
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    PracticeSite,
    Practitioner,
)

DEFAULT_VALIDITY_DAYS = 365
DEFAULT_REMINDER_DAYS = 30


def validity_days() -> int:
    """How long an accreditation lasts (``ACCREDITATION_VALIDITY_DAYS``, 12 months)."""
    return int(getattr(settings, "ACCREDITATION_VALIDITY_DAYS", DEFAULT_VALIDITY_DAYS))


def reminder_days() -> int:
    """How many days before the end the renewal reminder goes (``ACCREDITATION_REMINDER_DAYS``)."""
    return int(getattr(settings, "ACCREDITATION_REMINDER_DAYS", DEFAULT_REMINDER_DAYS))


def event_record(
    *,
    kind: str,
    practitioner: Practitioner | None = None,
    request: AccreditationRequest | None = None,
    accreditation: Accreditation | None = None,
    practice_site: PracticeSite | None = None,
    actor: User | None = None,
    comment: str = "",
) -> AccreditationEvent:
    """Append one line to the history."""
    return AccreditationEvent.objects.create(
        kind=kind,
        practitioner=practitioner,
        request=request,
        accreditation=accreditation,
        practice_site=practice_site,
        actor=actor,
        comment=comment,
        created_at=timezone.now(),
    )


def link(base_url: str, path: str) -> str:
    """An absolute link for an e-mail: the request's scheme and host, else
    ``PORTAL_BASE_URL`` (scheduled tasks have no request)."""
    base = base_url or getattr(settings, "PORTAL_BASE_URL", "")
    return f"{base.rstrip('/')}{path}"


def mail_users(
    *,
    users: Iterable[User],
    subject: str,
    template: str,
    context: dict[str, Any],
) -> None:
    """One e-mail per user, in their language (nobody sees the other recipients).

    ``subject`` is a French source string, translated here in each recipient's language.
    """
    for user in users:
        send_user_email(user=user, subject=subject, template=template, context=context)


def mail_address(
    *, email: str, subject: str, template: str, context: dict[str, Any], language: str = ""
) -> None:
    """An e-mail to an address that may have no account (a practitioner's professional one)."""
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        translated = gettext(subject)
    send_portal_email(
        to=[email], subject=translated, template=template, context=context, language=language
    )


def practitioner_recipients(practitioner: Practitioner) -> list[User]:
    """The practitioner's account, when they have one."""
    return [practitioner.user] if practitioner.user is not None else []
