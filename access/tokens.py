"""Viewer tokens: minting, finding, revoking (services and selectors of ``ViewerToken``).

A token is 32 random bytes (``secrets.token_urlsafe``), shown once to the user it was minted
for; the portal keeps its SHA-256 only. A token grants nothing by itself: every use by the
archive is decided by ``access.decide`` for the token's user (``access.orthanc_auth``).
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from access.bearer import Bearer, bearer_of_row
from access.decision import decide
from access.facts import BEARER_COLUMNS
from access.token_models import ViewerToken
from audit.models import Action, Channel
from imaging.models import ImagingStudy
from portal.hot_sql import hot_cursor
from portal.models import User

TOKEN_BYTES = 32
DEFAULT_LIFETIME_S = 3600
# Remembering each use costs a write: once a minute is enough to tell a live token.
LAST_USED_PRECISION_S = 60
# What a token looks like (token_urlsafe of 32 bytes is 43 characters); anything longer is not
# one of ours and is not worth hashing.
TOKEN_MAX_LENGTH = 128


class TokenState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MintedToken:
    token: str  # the secret itself: shown once, never stored
    record: ViewerToken
    url: str | None


def viewer_token_lifetime_s() -> int:
    return int(getattr(settings, "VIEWER_TOKEN_LIFETIME_S", DEFAULT_LIFETIME_S))


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token_value_clean(raw: str) -> str:
    """The token in what a viewer sends: bare, or as ``Bearer <token>`` (HTTP header)."""
    value = raw.strip()
    scheme, _space, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        value = rest.strip()
    return value


def viewer_token_find(
    *, raw: str, at: datetime.datetime | None = None
) -> tuple[ViewerToken | None, TokenState]:
    """The token ``raw`` names, with its user and study, and whether it may be used at ``at``.

    One query. A revoked token is reported revoked even once expired.
    """
    value = token_value_clean(raw)
    if not value or len(value) > TOKEN_MAX_LENGTH:
        return None, TokenState.UNKNOWN
    token = (
        ViewerToken.objects.select_related("user", "study", "study__patient", "study__source")
        .filter(token_hash=token_hash(value))
        .order_by()
        .first()
    )
    return token, viewer_token_state(token, at)


@cache
def _bearer_sql() -> str:
    # Only names from the models' metadata are formatted in.
    return (
        f"SELECT {', '.join(BEARER_COLUMNS)} "  # noqa: S608
        f"FROM {ViewerToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.token_hash = %s"
    )


def viewer_token_bearer(*, raw: str) -> Bearer | None:
    """``viewer_token_find`` for the archive's requests that are not about one study (the
    patient and system levels, writes): the token and its user as a ``Bearer``, in one
    hand-written query. A study's validation reads them with its facts instead
    (``access.decision.decide_for_token``)."""
    hashed = viewer_token_hash(raw)
    if hashed is None:
        return None
    with hot_cursor() as cursor:
        cursor.execute(_bearer_sql(), [hashed])
        row = cursor.fetchone()
    return bearer_of_row(row) if row is not None else None


def viewer_token_hash(raw: str) -> str | None:
    """The hash to look ``raw`` up by, or None when it cannot be one of our tokens."""
    value = token_value_clean(raw)
    if not value or len(value) > TOKEN_MAX_LENGTH:
        return None
    return token_hash(value)


def viewer_token_state(
    token: ViewerToken | Bearer | None, at: datetime.datetime | None = None
) -> TokenState:
    if token is None:
        return TokenState.UNKNOWN
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if (at or timezone.now()) >= token.expires_at:
        return TokenState.EXPIRED
    return TokenState.VALID


def viewer_token_remaining_s(
    token: ViewerToken | Bearer, *, at: datetime.datetime | None = None
) -> int:
    """Whole seconds left before ``token`` expires (0 once expired)."""
    left = (token.expires_at - (at or timezone.now())).total_seconds()
    return max(0, int(left))


def viewer_token_study(*, study_instance_uid: str) -> ImagingStudy | None:
    """The present study of the index with this StudyInstanceUID, with its patient and archive."""
    return (
        ImagingStudy.objects.present()
        .filter(study_instance_uid=study_instance_uid, patient__isnull=False)
        .select_related("patient", "source")
        .first()
    )


@transaction.atomic
def viewer_token_mint(
    *, user: User, study: ImagingStudy | None = None, lifetime_s: int | None = None
) -> MintedToken:
    """Mint a token for ``user`` (bound to ``study`` when given), valid ``lifetime_s`` seconds
    (``VIEWER_TOKEN_LIFETIME_S`` by default). Does not decide access: see
    ``viewer_token_issue``."""
    lifetime = lifetime_s if lifetime_s is not None else viewer_token_lifetime_s()
    if lifetime < 1:
        raise ValueError("A viewer token lives at least one second.")
    value = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    record = ViewerToken.objects.create(
        user=user,
        study=study,
        token_hash=token_hash(value),
        created_at=now,
        expires_at=now + datetime.timedelta(seconds=lifetime),
    )
    url = None
    if study is not None and study.source is not None:
        url = study.source.viewer_link(study_instance_uid=study.study_instance_uid, token=value)
    return MintedToken(token=value, record=record, url=url)


def viewer_token_issue(
    *, user: User, study_instance_uid: str | None, request: HttpRequest | None = None
) -> MintedToken:
    """Mint a token for ``user`` to open a study in its archive's viewer (or, without a
    study, the viewer's own list): only when ``access.decide`` lets the user see the study,
    which the decision traces on the API channel. Raises ``ObjectDoesNotExist`` alike for an
    unknown study and a refused one, so that the answer does not tell them apart."""
    if not study_instance_uid:
        return viewer_token_mint(user=user)
    study = viewer_token_study(study_instance_uid=study_instance_uid)
    minted = (
        viewer_token_for_study(user=user, study=study, channel=Channel.API, request=request)
        if study is not None
        else None
    )
    if minted is None:
        raise ObjectDoesNotExist(study_instance_uid)
    return minted


def viewer_token_for_study(
    *, user: User, study: ImagingStudy, channel: str, request: HttpRequest | None = None
) -> MintedToken | None:
    """A token for ``user`` bound to ``study``, when ``access.decide`` (traced on
    ``channel``) lets them see it; None when it does not."""
    if study.patient is None:
        return None
    decision = decide(
        user=user,
        patient=study.patient,
        study=study,
        action=Action.READ,
        channel=channel,
        request=request,
    )
    return viewer_token_mint(user=user, study=study) if decision.granted else None


def viewer_token_for_owner(*, user: Any, pk: int) -> ViewerToken | None:
    """``user``'s own token ``pk``; None for anyone else's (or none at all)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return ViewerToken.objects.filter(pk=pk, user_id=user.pk).first()


@transaction.atomic
def viewer_token_revoke(*, token: ViewerToken) -> ViewerToken:
    """Revoke ``token`` now: the archive's next validation refuses it. Refused when already
    revoked."""
    updated = ViewerToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("Ce jeton de visionneuse est déjà révoqué."))
    token.refresh_from_db(fields=["revoked_at"])
    return token


def viewer_token_touch(*, token: ViewerToken | Bearer, at: datetime.datetime | None = None) -> None:
    """Remember that ``token`` was just used, at most once a minute (one conditional UPDATE)."""
    now = at or timezone.now()
    threshold = now - datetime.timedelta(seconds=LAST_USED_PRECISION_S)
    if token.last_used_at is not None and token.last_used_at > threshold:
        return
    ViewerToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=threshold).update(
        last_used_at=now
    )
    token.last_used_at = now
