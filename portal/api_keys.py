"""API keys: creating, finding, revoking (services and selectors of ``ApiKey``).

A key is ``pik_`` + 8 public hexadecimal characters + ``_`` + 32 random bytes
(``secrets.token_urlsafe``), shown once to the user who created it; the portal keeps its
SHA-256 and its first 12 characters only. A key grants nothing by itself: it authenticates its
user on the REST API (``portal.api_key_auth``), whose roles and object-level checks then apply.

Who may hold keys: anyone who must protect their account with a second factor (staff,
practitioners, accounts without a role yet), once they have one. Patients are not offered keys:
their portal is the web pages and their own ``/api/v1/me/`` endpoints, through their session.

Creations and revocations are logged (logger ``portal.api_keys``): the access trail
(``audit``) records decisions on patient data, not account events. Each creation is also
told to the key's owner by e-mail.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from portal.api_key_models import NAME_MAX_LENGTH, ApiKey
from portal.mail import send_user_email
from portal.models import User
from portal.roles import MFA_ROLES, has_second_factor, roles_of

logger = logging.getLogger(__name__)

# A marker that tells a leaked key for what it is (to its owner, to secret scanners).
KEY_MARKER = "pik_"
PREFIX_BYTES = 4
KEY_BYTES = 32
# What a key looks like (4 + 8 + 1 + 43 = 56 characters); anything longer is not one of ours
# and is not worth hashing.
KEY_MAX_LENGTH = 128
# The part of the key kept in clear and shown in lists: the marker and the public characters.
PREFIX_LENGTH = len(KEY_MARKER) + 2 * PREFIX_BYTES
# Remembering each use costs a write: once a minute is enough to tell a live key.
LAST_USED_PRECISION_S = 60


@dataclass(frozen=True)
class CreatedKey:
    key: str  # the secret itself: shown once, never stored
    record: ApiKey


def api_key_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def api_key_max_days() -> int:
    return int(settings.API_KEY_MAX_DAYS)


def api_key_default_days() -> int:
    return min(int(settings.API_KEY_DEFAULT_DAYS), api_key_max_days())


def api_key_max_per_user() -> int:
    return int(settings.API_KEY_MAX_PER_USER)


def api_keys_offered(user: Any) -> bool:
    """Whether the portal offers ``user`` API keys: every signed-in, active account but those
    that are patients only (one user may be both a patient and a practitioner). Uses the roles
    cached on the user: no query when the page's layout already asked for them."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    roles = roles_of(user)
    return bool(getattr(user, "is_superuser", False) or not roles or roles & MFA_ROLES)


def api_key_may_create(user: Any) -> bool:
    """Whether ``user`` may create a key now: offered keys, with a second factor enrolled (a
    key outlives sessions; it must not be easier to get than one)."""
    return api_keys_offered(user) and has_second_factor(user)


def api_keys_of(*, user: User) -> list[ApiKey]:
    """``user``'s keys, newest first, in every state (the list shows revoked and expired ones
    too, so that a failing script's key can be recognised)."""
    return list(ApiKey.objects.filter(user=user).order_by("-created_at", "-id"))


def api_key_for_owner(*, user: Any, pk: int) -> ApiKey | None:
    """``user``'s own key ``pk``; None for anyone else's (or none at all)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return ApiKey.objects.filter(pk=pk, user_id=user.pk).first()


def api_key_find(*, key: str) -> ApiKey | None:
    """The key record ``key`` names, with its user, whatever its state; None when the text is
    not one of our keys. One query, by the key's hash: the secret itself is never compared."""
    value = key.strip()
    if not value.startswith(KEY_MARKER) or len(value) > KEY_MAX_LENGTH:
        return None
    return ApiKey.objects.select_related("user").filter(key_hash=api_key_hash(value)).first()


def _clean_name(name: str) -> str:
    return " ".join(name.split())


@transaction.atomic
def api_key_create(*, user: User, name: str, lifetime_days: int | None = None) -> CreatedKey:
    """Create a key for ``user``, named ``name`` (unique among their usable keys), valid
    ``lifetime_days`` days (``API_KEY_DEFAULT_DAYS`` by default, ``API_KEY_MAX_DAYS`` at most).

    Refused (``PermissionDenied``) to those not offered keys or without a second factor;
    refused (``ValidationError`` on ``name`` or ``lifetime_days``, or on the whole request)
    for a bad name or lifetime, or beyond ``API_KEY_MAX_PER_USER`` usable keys.
    """
    if not api_keys_offered(user):
        raise PermissionDenied(
            _("Les clés d'API sont réservées aux professionnels et aux équipes du réseau.")
        )
    if not has_second_factor(user):
        raise PermissionDenied(
            _("Activez l'authentification à deux facteurs avant de créer une clé d'API.")
        )
    label = _clean_name(name)
    lifetime = api_key_default_days() if lifetime_days is None else lifetime_days
    errors: dict[str, str] = {}
    if not label:
        errors["name"] = _("Donnez un nom à la clé, par exemple celui du script qui l'utilise.")
    elif len(label) > NAME_MAX_LENGTH:
        errors["name"] = _("Le nom d'une clé tient en %(max)d caractères au plus.") % {
            "max": NAME_MAX_LENGTH
        }
    if not 1 <= lifetime <= api_key_max_days():
        errors["lifetime_days"] = _("Une clé dure entre 1 et %(max)d jours.") % {
            "max": api_key_max_days()
        }
    if errors:
        raise ValidationError(errors)
    # One creation at a time per user: the limit and the name's uniqueness are checked under
    # this lock (usable keys change with time, which a database constraint cannot express).
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
    now = timezone.now()
    usable = ApiKey.objects.filter(user=user).usable(now)
    if usable.filter(name__iexact=label).exists():
        raise ValidationError(
            {
                "name": _(
                    "Vous avez déjà une clé active de ce nom : choisissez-en un autre, ou "
                    "révoquez d'abord l'ancienne."
                )
            }
        )
    limit = api_key_max_per_user()
    if usable.count() >= limit:
        raise ValidationError(
            ngettext(
                "Vous avez déjà %(count)d clé d'API active, le maximum : révoquez-la avant "
                "d'en créer une autre.",
                "Vous avez déjà %(count)d clés d'API actives, le maximum : révoquez-en une "
                "avant d'en créer une autre.",
                limit,
            )
            % {"count": limit}
        )
    value = f"{KEY_MARKER}{secrets.token_hex(PREFIX_BYTES)}_{secrets.token_urlsafe(KEY_BYTES)}"
    record = ApiKey.objects.create(
        user=user,
        name=label,
        prefix=value[:PREFIX_LENGTH],
        key_hash=api_key_hash(value),
        created_at=now,
        expires_at=now + datetime.timedelta(days=lifetime),
    )
    _tell_owner_of_creation(user=user, record=record)
    transaction.on_commit(
        lambda: logger.info(
            "api key %s (%s) created by user %s, expires %s",
            record.pk,
            record.prefix,
            user.pk,
            record.expires_at.isoformat(),
        )
    )
    return CreatedKey(key=value, record=record)


def _tell_owner_of_creation(*, user: User, record: ApiKey) -> None:
    """An e-mail to the key's owner, sent at commit: a key created by someone else with
    their session must not go unnoticed."""
    send_user_email(
        user=user,
        subject=gettext_noop("Une clé d'API a été créée sur votre compte"),
        template="emails/portal/api_key_created.txt",
        context={"key": record, "url": f"{settings.PORTAL_BASE_URL}{reverse('api-keys')}"},
    )


@transaction.atomic
def api_key_revoke(*, key: ApiKey, by: User) -> ApiKey:
    """Revoke ``key`` now (its owner, or an administrator ``by``): its next use is refused.
    Refused when already revoked."""
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    if not updated:
        raise ValidationError(_("Cette clé d'API est déjà révoquée."))
    key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    transaction.on_commit(
        lambda: logger.info(
            "api key %s (%s) of user %s revoked by user %s", key.pk, key.prefix, key.user_id, by.pk
        )
    )
    return key


def api_key_touch(*, key: ApiKey, ip: str | None, at: datetime.datetime | None = None) -> None:
    """Remember that ``key`` was just used, from ``ip``, at most once a minute (one conditional
    UPDATE, which concurrent requests may race for harmlessly)."""
    now = at or timezone.now()
    threshold = now - datetime.timedelta(seconds=LAST_USED_PRECISION_S)
    if key.last_used_at is not None and key.last_used_at > threshold:
        return
    ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=threshold).update(
        last_used_at=now, last_used_ip=ip
    )
    key.last_used_at, key.last_used_ip = now, ip
