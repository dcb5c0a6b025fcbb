"""The web service of Orthanc's official authorization plugin: the archive asks the portal.

Mounted at ``/orthanc-auth/`` (the plugin's ``WebServiceRootUrl``); each archive authenticates
with the HTTP Basic credentials set on its ``ArchiveSource`` (``WebServiceUsername`` and
``WebServicePassword``). Three endpoints, with the plugin's field names:

- ``POST tokens/validate`` — may the bearer of this token do ``method`` on this resource? Each
  resource is resolved to its patient (and study) through the index, then ``access.decide``
  answers for the token's user and traces it on the ``archive`` channel.
- ``POST tokens/decode`` — what is this token (type, error, the viewer address, its study)?
- ``POST user/get-profile`` — the token's user. A viewer token has **no** permission and no
  authorized label: with any of them the plugin would let requests through on the profile
  alone (``"view"`` with the ``"*"`` label opens every study of the archive) or refuse them all
  (``"view"`` without labels), before asking ``tokens/validate`` about the resource.

What a viewer token is never granted:

- a write (``post``, ``put``, ``delete``) at any level — including the plugin's study-level
  ``post`` check of ``/tools/find``, which cannot be told apart from ``/modify`` or
  ``/anonymize`` since the plugin only sends the URI at system level;
- the patient level when the token is bound to one study, or another study than its own;
- a system-level URI outside ``SYSTEM_URIS_FOR_VIEWERS``.

The portal's own requests to the archive (the sync, the resource lookups below) pass through the
same plugin once Orthanc's own authentication is off, their HTTP Basic header forwarded as the
token: the archive's stored sync credentials get a reading profile (``"view"`` on every label)
and reads at every level, traced nowhere since no user is behind them.

``validity`` (how long the archive may cache the answer) never exceeds
``ACCESS_DECISION_VALIDITY_S`` nor the token's remaining life. A malformed body gets 400 with
a French message naming the field; the plugin treats any error as a refusal.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from access.bearer import Bearer
from access.decision import Target, decide_for_token, decide_many, validity_setting
from access.tokens import (
    TokenState,
    token_value_clean,
    viewer_token_bearer,
    viewer_token_find,
    viewer_token_hash,
    viewer_token_remaining_s,
    viewer_token_state,
    viewer_token_touch,
)
from audit.models import Action, Channel
from imaging.archive_resources import archive_resource_resolve
from imaging.models import ArchiveSource
from imaging.selectors import archive_source_for_callback, archive_source_reader_matches

logger = logging.getLogger(__name__)

METHODS = ("get", "post", "put", "delete")
LEVELS = ("patient", "study", "series", "instance", "system")
# The system-level URIs a viewer token may read, none of which shows patient data:
# - ``/system``: the Stone Web Viewer checks that the server is Orthanc before it loads
#   anything (the plugin's own "stone-webviewer" standard configuration leaves it unchecked).
# Everything else at system level lists or changes the archive: ``/patients``, ``/studies``,
# QIDO-RS without a study or patient (``/dicom-web/studies``), ``/tools/find``, ``/changes``,
# ``/statistics``, jobs, peers and modalities. A viewer opening one study asks for it by id or
# by StudyInstanceUID, which the plugin checks at study level.
SYSTEM_URIS_FOR_VIEWERS = frozenset({"/system"})
# What the portal itself posts to an archive: the read-only DICOM identifier lookup of
# ``imaging.archive_resources``.
SYSTEM_POSTS_FOR_THE_PORTAL = frozenset({"/tools/lookup"})
PORTAL_READER_NAME = "portail (synchronisation)"
TOKEN_TYPE = "viewer-instant-link"  # noqa: S105 - the plugin's name for the kind of token
REALM = 'Basic realm="portail-orthanc-auth", charset="UTF-8"'


class BadRequest(Exception):
    """The body is not what the plugin sends; ``str(error)`` is a French message."""


# --- Reading the plugin's bodies ----------------------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(_("Le corps de la requête n'est pas du JSON valide.")) from exc
    if not isinstance(body, dict):
        raise BadRequest(_("Le corps de la requête doit être un objet JSON."))
    return body


def _optional_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(
            _("Le champ « %(name)s » doit être une chaîne de caractères ou null.") % {"name": name}
        )
    return value.strip()


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    if name not in body:
        raise BadRequest(_("Le champ « %(name)s » est obligatoire.") % {"name": name})
    value = body[name]
    if not isinstance(value, str) or value.lower() not in choices:
        raise BadRequest(
            _("Le champ « %(name)s » doit valoir l'une de ces valeurs : %(choices)s.")
            % {"name": name, "choices": ", ".join(choices)}
        )
    return value.lower()


@dataclass(frozen=True)
class Validation:
    method: str
    level: str
    orthanc_id: str
    dicom_uid: str
    uri: str
    token_key: str
    token_value: str


def validation_read(body: dict[str, Any]) -> Validation:
    """The fields of a ``tokens/validate`` body, checked; raises ``BadRequest``."""
    method = _choice(body, "method", METHODS)
    level = _choice(body, "level", LEVELS)
    orthanc_id = _optional_text(body, "orthanc-id")
    dicom_uid = _optional_text(body, "dicom-uid")
    uri = _optional_text(body, "uri")
    token_key = _optional_text(body, "token-key")
    token_value = _optional_text(body, "token-value")
    _optional_text(body, "server-id")
    labels = body.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(label, str) for label in labels)
    ):
        raise BadRequest(_("Le champ « labels » doit être une liste de chaînes de caractères."))
    if level == "system" and not uri:
        raise BadRequest(_("Le champ « uri » est obligatoire au niveau « system »."))
    if level != "system" and not (orthanc_id or dicom_uid):
        raise BadRequest(
            _("Indiquez « orthanc-id » ou « dicom-uid » au niveau « %(level)s ».")
            % {"level": level}
        )
    return Validation(method, level, orthanc_id, dicom_uid, uri, token_key, token_value)


# --- The answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    granted: bool
    validity: int

    def as_json(self) -> dict[str, Any]:
        return {"granted": self.granted, "validity": self.validity}


def _refused(reason: str, query: Validation, token: Bearer | None = None) -> Answer:
    # Ids only: never the token nor a DICOM identifier in the logs.
    logger.info(
        "orthanc-auth refused (%s): %s %s, token %s",
        reason,
        query.method,
        query.level,
        token.pk if token else "-",
    )
    return Answer(False, validity_setting())


def validation_answer(
    *, source: ArchiveSource, query: Validation, request: HttpRequest | None = None
) -> Answer:
    """The answer to ``tokens/validate``: ``access.decide`` for the token's user on the
    resource's patient and study(ies), each decision traced on the archive channel."""
    if not query.token_value:
        return _refused("no token", query)
    if _is_portal(source, query.token_value):
        return _portal_answer(query)
    if query.method == "get" and query.level in ("study", "series", "instance"):
        return _one_study_answer(source=source, query=query, request=request)
    now = timezone.now()
    token = viewer_token_bearer(raw=query.token_value)
    refusal = _token_refusal(token, at=now)
    if token is None or refusal:
        return _refused(refusal or "unknown token", query, token)
    validity = min(validity_setting(), viewer_token_remaining_s(token, at=now))
    if query.level == "system":
        uri = query.uri.rstrip("/") or "/"
        if query.method == "get" and uri in SYSTEM_URIS_FOR_VIEWERS:
            return Answer(True, validity)
        return _refused("system uri", query, token)
    if query.method != "get":
        return _refused("write method", query, token)
    if token.study_id is not None:
        return _refused("patient level for a one-study token", query, token)
    resolved = archive_resource_resolve(
        source=source, level=query.level, orthanc_id=query.orthanc_id, dicom_uid=query.dicom_uid
    )
    if resolved is None:
        return _refused("unknown resource", query, token)
    viewer_token_touch(token=token, at=now)
    # The patient level opens every study of this archive: each must be granted.
    decisions = decide_many(
        user=token.user,
        targets=[Target(resolved.patient, study) for study in resolved.studies],
        action=Action.READ,
        channel=Channel.ARCHIVE,
        purpose="care",
        request=request,
    )
    if not all(decision.granted for decision in decisions):
        return _refused("decision", query, token)
    return Answer(True, min([validity, *(decision.validity_s for decision in decisions)]))


def _one_study_answer(
    *, source: ArchiveSource, query: Validation, request: HttpRequest | None
) -> Answer:
    """A read of one study, or of a series or an instance of it (the archive's every image):
    the resource is resolved first, from the process's cache as a rule, so that the token,
    its user and the decision's facts come in one query (``decide_for_token``), then the
    trace. An archive asks about a series or an instance once, whatever the token."""
    now = timezone.now()
    hashed = viewer_token_hash(query.token_value)
    if hashed is None:
        return _refused("unknown token", query)
    resolved = archive_resource_resolve(
        source=source, level=query.level, orthanc_id=query.orthanc_id, dicom_uid=query.dicom_uid
    )
    if resolved is None:
        return _refused("unknown resource", query)
    (study,) = resolved.studies
    token, decision = decide_for_token(
        token_hash=hashed,
        target=Target(resolved.patient, study),
        admit=lambda bearer: not _token_refusal(bearer, at=now, study_id=study.pk),
        action=Action.READ,
        channel=Channel.ARCHIVE,
        request=request,
    )
    if token is None:
        return _refused("unknown token", query)
    if decision is None:
        return _refused(_token_refusal(token, at=now, study_id=study.pk), query, token)
    viewer_token_touch(token=token, at=now)
    if not decision.granted:
        return _refused("decision", query, token)
    validity = min(validity_setting(), viewer_token_remaining_s(token, at=now))
    return Answer(True, min(validity, decision.validity_s))


def _token_refusal(
    token: Bearer | None, *, at: datetime.datetime, study_id: int | None = None
) -> str:
    """Why ``token`` may not be used at ``at`` (for ``study_id`` when given), or ""."""
    if token is None:
        return "unknown token"
    state = viewer_token_state(token, at)
    if state != TokenState.VALID:
        return state.value
    if not token.user.is_active:
        return "inactive user"
    if study_id is not None and token.study_id not in (None, study_id):
        return "another study"
    return ""


def _is_portal(source: ArchiveSource, token_value: str) -> bool:
    credentials = basic_credentials(token_value)
    if credentials is None:
        return False
    username, password = credentials
    return archive_source_reader_matches(source=source, username=username, password=password)


def _portal_answer(query: Validation) -> Answer:
    """The portal reads its archive: any read, and the read-only query it posts."""
    reads = query.method == "get" or (
        query.method == "post"
        and query.level == "system"
        and query.uri.rstrip("/") in SYSTEM_POSTS_FOR_THE_PORTAL
    )
    if not reads:
        return _refused("write by the portal's reader", query)
    return Answer(True, validity_setting())


def _token_fields(body: dict[str, Any]) -> tuple[str, str]:
    return _optional_text(body, "token-key"), _optional_text(body, "token-value")


def decode_answer(*, source: ArchiveSource, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to ``tokens/decode``. The viewer address and the study are only told to the
    archive that holds the study, for a token still usable."""
    _key, value = _token_fields(body)
    if not value:
        raise BadRequest(_("Le champ « token-value » est obligatoire."))
    token, state = viewer_token_find(raw=value)
    answer: dict[str, Any] = {
        "token-type": TOKEN_TYPE if token is not None else None,
        "error-code": None,
        "redirect-url": None,
        "resources": [],
    }
    if state == TokenState.UNKNOWN:
        answer["error-code"] = "unknown"
    elif state == TokenState.EXPIRED:
        answer["error-code"] = "expired"
    elif state == TokenState.REVOKED or (token is not None and not token.user.is_active):
        answer["error-code"] = "invalid"
    elif token is not None and token.study is not None and token.study.source_id == source.pk:
        study = token.study
        answer["resources"] = [
            {
                "level": "study",
                "dicom-uid": study.study_instance_uid,
                "orthanc-id": study.archive_id or None,
            }
        ]
        answer["redirect-url"] = source.viewer_link(
            study_instance_uid=study.study_instance_uid, token=token_value_clean(value)
        )
    return answer


def profile_answer(*, source: ArchiveSource, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to ``user/get-profile``: the token's user, no permission, no label (see the
    module's docstring), and how long the archive may keep it."""
    _key, value = _token_fields(body)
    _optional_text(body, "server-id")
    _optional_text(body, "identifier")  # the plugin's newer name for "server-id"
    limit = validity_setting()
    if value and _is_portal(source, value):
        return {
            "name": PORTAL_READER_NAME,
            "permissions": ["view"],
            "authorized-labels": ["*"],
            "validity": limit,
        }
    token, state = viewer_token_find(raw=value) if value else (None, TokenState.UNKNOWN)
    name = ""
    validity = limit
    if token is not None and state == TokenState.VALID and token.user.is_active:
        user = token.user
        name = f"{user.first_name} {user.last_name}".strip() or user.email
        # Never 0: the plugin would then cache the profile without end.
        validity = max(1, min(limit, viewer_token_remaining_s(token)))
    return {"name": name, "permissions": [], "authorized-labels": [], "validity": validity}


# --- Views ----------------------------------------------------------------------------------------


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The user and password of an HTTP Basic ``Authorization`` value, or None."""
    scheme, _space, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    return username, password


def _unauthorized() -> JsonResponse:
    response = JsonResponse(
        {"error": _("Identifiants de l'archive absents ou refusés (authentification HTTP Basic).")},
        status=401,
    )
    response["WWW-Authenticate"] = REALM
    return response


def _bad_request(error: BadRequest) -> JsonResponse:
    return JsonResponse({"error": str(error)}, status=400)


def _calling_archive(request: HttpRequest) -> ArchiveSource | None:
    credentials = basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    if credentials is None:
        return None
    return archive_source_for_callback(username=credentials[0], password=credentials[1])


@csrf_exempt
@require_POST
def tokens_validate(request: HttpRequest) -> JsonResponse:
    source = _calling_archive(request)
    if source is None:
        return _unauthorized()
    try:
        query = validation_read(_json_body(request))
    except BadRequest as error:
        return _bad_request(error)
    return JsonResponse(validation_answer(source=source, query=query, request=request).as_json())


@csrf_exempt
@require_POST
def tokens_decode(request: HttpRequest) -> JsonResponse:
    source = _calling_archive(request)
    if source is None:
        return _unauthorized()
    try:
        return JsonResponse(decode_answer(source=source, body=_json_body(request)))
    except BadRequest as error:
        return _bad_request(error)


@csrf_exempt
@require_POST
def user_get_profile(request: HttpRequest) -> JsonResponse:
    source = _calling_archive(request)
    if source is None:
        return _unauthorized()
    try:
        return JsonResponse(profile_answer(source=source, body=_json_body(request)))
    except BadRequest as error:
        return _bad_request(error)
