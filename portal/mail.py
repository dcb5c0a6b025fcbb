"""E-mails of the portal: rendered now, in the recipient's language, sent after commit.

Rendering happens in the request (templates and translations are at hand); a Celery task only
sends the finished text, so a rolled-back transaction never mails anyone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from portal.celery import app, queue_on_commit


def send_portal_email(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: dict[str, Any] | None = None,
    language: str | None = None,
) -> None:
    """Queue an e-mail, sent once the current transaction commits.

    ``template`` names a plain-text template (``emails/<name>.txt``); ``subject`` is already
    translated by the caller (gettext) and gets the portal's prefix. Never put patient data in
    an e-mail: it leaves the hosting provider.
    """
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        body = render_to_string(template, context or {})
    queue_on_commit(
        send_email_task,
        to=list(to),
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
    )


def send_user_email(
    *, user: Any, subject: str, template: str, context: dict[str, Any] | None = None
) -> None:
    """``send_portal_email`` to one account, in its language (``preferred_language``), the
    template's ``recipient`` being that account. ``subject`` is a French source string
    (``gettext_noop``), translated here. Nothing for an account without an address."""
    if not user.email:
        return
    language = getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        translated = translation.gettext(subject)
    send_portal_email(
        to=[user.email],
        subject=translated,
        template=template,
        context={**(context or {}), "recipient": user},
        language=language,
    )


@app.task(name="portal.send_email", time_limit=60, soft_time_limit=50, max_retries=5)
def send_email_task(*, to: list[str], subject: str, body: str) -> None:
    EmailMessage(subject=subject, body=body, to=to).send()
