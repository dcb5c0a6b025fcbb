"""Orthanc asks the portal before every REST and DICOMweb request (Debian's ``orthanc-python``).

Debian packages Orthanc but not its official authorization plugin. This script, loaded by
Orthanc's Python plugin (``"PythonScript"``), speaks the official plugin's protocol to the same
web service, the portal's ``/orthanc-auth/``:

1. The token is read from the configured HTTP headers (any case) and GET arguments.
2. The URI is turned into the resources it touches, as the official plugin's
   ``DefaultAuthorizationParser`` does: a REST resource with the resources above it (patient,
   study, series, instance), a DICOMweb path by its UIDs, a QIDO-RS search by its
   StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID or PatientID arguments, anything else as
   the ``system`` level with its URI. Orthanc's own REST API (internal calls, not filtered)
   tells the parents and the UIDs of a resource.
3. Each resource, from the patient down, is posted to ``{WebServiceRootUrl}/tokens/validate``
   with HTTP Basic credentials, in the official plugin's body (``method``, ``level``,
   ``orthanc-id`` and ``dicom-uid`` or ``uri``, ``token-key``, ``token-value``, ``server-id``).
   The first grant lets the request through (a granted study opens its series and instances);
   none answers 403. Without a token the question is asked without one.
4. Each answer is kept ``validity`` seconds, never longer and not at all for 0, keyed by method,
   level, resource and token.
5. Anything else refuses (fail closed): the portal unreachable, slower than ``Timeout``, a status
   other than 200, a body that is not the protocol's, a broken configuration.

Two differences with the official plugin: a resource this Orthanc does not know is asked about
by the id the URI names (the portal's reader then gets Orthanc's 404, which the nightly
reconciliation relies on; a viewer is refused), and a QIDO-RS ``PatientID`` is also read from its
tag ``00100020``.

Configuration, in Orthanc's configuration file (the official plugin's option names, in a
section of our own so that both can never read each other's)::

    "AuthenticationEnabled": false,
    "PortalAuthorization": {
      "WebServiceRootUrl": "https://portail.example.fr/orthanc-auth/",
      "WebServiceUsername": "orthanc-chr-metz",
      "WebServicePassword": "the archive's callback password",
      "WebServiceIdentifier": "chr-metz",      // optional, sent as "server-id"
      "TokenHttpHeaders": ["Authorization", "token"],
      "TokenGetArguments": ["token"],
      "UncheckedResources": [],                // GET only, let through without asking
      "UncheckedFolders": [],                  // GET only, URI prefixes let through
      "Timeout": 10,                           // seconds the portal has to answer
      "CacheSize": 10000                       // answers and resources kept in memory
    }

Orthanc's own ``HttpProxy`` and ``HttpsCACertificates`` options apply to the calls to the
portal. Standard library only: this runs in Orthanc's embedded Python.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orthanc

SECTION = "PortalAuthorization"
METHODS = {1: "get", 2: "post", 3: "put", 4: "delete"}  # orthanc.HttpMethod
LEVELS = ("patient", "study", "series", "instance")
PLURALS = {"patients": "patient", "studies": "study", "series": "series", "instances": "instance"}
PLURAL = {level: plural for plural, level in PLURALS.items()}
PARENT_LEVEL = {"study": "patient", "series": "study", "instance": "series"}
PARENT_FIELD = {"study": "ParentPatient", "series": "ParentStudy", "instance": "ParentSeries"}
UID_TAG = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}
LOOKUP_TYPE = {"patient": "Patient", "study": "Study", "series": "Series", "instance": "Instance"}
# QIDO-RS arguments naming a resource: the tag, then its keyword.
QIDO_ARGUMENTS = {
    "study": ("0020000D", "StudyInstanceUID"),
    "series": ("0020000E", "SeriesInstanceUID"),
    "instance": ("00080018", "SOPInstanceUID"),
    "patient": ("00100020", "PatientID"),
}

_RESOURCE = re.compile(r"^/(patients|studies|series|instances)/([a-f0-9-]+)(|/.*)$")
_VIEWER_SERIES = re.compile(
    r"^/(web-viewer/series|web-viewer/is-stable-series|wsi/pyramids|wsi/tiles)/([a-f0-9-]+)(|/.*)$"
)
_VIEWER_INSTANCE = re.compile(r"^/web-viewer/instances/[a-z0-9]+-([a-f0-9-]+)_[0-9]+$")


# --- Configuration --------------------------------------------------------------------------------


class ConfigurationError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    validate_url: str
    basic_authorization: str | None
    server_id: str | None
    token_headers: tuple[str, ...]
    token_arguments: tuple[str, ...]
    unchecked_resources: frozenset[str]
    unchecked_folders: tuple[str, ...]
    timeout_s: float
    cache_size: int
    dicomweb_root: str  # without its trailing slash
    http_proxy: str | None
    ca_certificates: str | None


def _strings(section: dict[str, Any], name: str, default: list[str]) -> tuple[str, ...]:
    value = section.get(name, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f'"{SECTION}.{name}" must be a list of strings')
    return tuple(item for item in value if item)


def _text(section: dict[str, Any], name: str) -> str | None:
    value = section.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f'"{SECTION}.{name}" must be a string')
    return value


def settings_read(configuration: dict[str, Any]) -> Settings:
    """The plugin's settings from Orthanc's whole configuration; ConfigurationError when they
    cannot be used."""
    section = configuration.get(SECTION)
    if not isinstance(section, dict):
        raise ConfigurationError(f'the "{SECTION}" section is missing')
    root = _text(section, "WebServiceRootUrl")
    if root is None or not root.startswith(("http://", "https://")):
        raise ConfigurationError(f'"{SECTION}.WebServiceRootUrl" must be an http(s) URL')
    username = _text(section, "WebServiceUsername")
    password = _text(section, "WebServicePassword") or ""
    basic = None
    if username is not None:
        pair = f"{username}:{password}".encode()
        basic = "Basic " + base64.b64encode(pair).decode("ascii")
    timeout = section.get("Timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError(f'"{SECTION}.Timeout" must be a positive number of seconds')
    cache_size = section.get("CacheSize", 10000)
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ConfigurationError(f'"{SECTION}.CacheSize" must be a positive integer')
    dicomweb = configuration.get("DicomWeb")
    dicomweb_root = "/dicom-web/"
    if isinstance(dicomweb, dict) and isinstance(dicomweb.get("Root"), str):
        dicomweb_root = dicomweb["Root"]
    proxy = configuration.get("HttpProxy")
    ca_certificates = configuration.get("HttpsCACertificates")
    return Settings(
        validate_url=root.rstrip("/") + "/tokens/validate",
        basic_authorization=basic,
        server_id=_text(section, "WebServiceIdentifier"),
        token_headers=_strings(section, "TokenHttpHeaders", ["Authorization", "token"]),
        token_arguments=_strings(section, "TokenGetArguments", ["token"]),
        unchecked_resources=frozenset(_strings(section, "UncheckedResources", [])),
        unchecked_folders=_strings(section, "UncheckedFolders", []),
        timeout_s=float(timeout),
        cache_size=cache_size,
        dicomweb_root=dicomweb_root.rstrip("/"),
        http_proxy=proxy if isinstance(proxy, str) and proxy else None,
        ca_certificates=(
            ca_certificates if isinstance(ca_certificates, str) and ca_certificates else None
        ),
    )


# --- What a URI touches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """One resource a request touches, as the protocol names it."""

    level: str
    orthanc_id: str | None = None
    dicom_uid: str | None = None
    uri: str | None = None  # system level only


class Resources:
    """This Orthanc's own answers about its resources (internal REST calls, which the filter
    does not see), cached: an Orthanc id is a hash of the DICOM identifiers above it, so the
    parent and the UID of an id never change. Only found resources are kept."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._known: dict[tuple[str, str], tuple[str | None, str]] = {}
        self._ids: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def _keep(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            if len(table) >= self._size:
                table.clear()
            table[key] = value

    def describe(self, level: str, orthanc_id: str) -> tuple[str | None, str] | None:
        """(parent's Orthanc id, DICOM UID) of a resource, or None when unknown."""
        key = (level, orthanc_id)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        try:
            payload = json.loads(orthanc.RestApiGet(f"/{PLURAL[level]}/{orthanc_id}"))
        except (orthanc.OrthancException, ValueError):
            return None
        if not isinstance(payload, dict):
            return None
        tags = payload.get("MainDicomTags")
        uid = tags.get(UID_TAG[level]) if isinstance(tags, dict) else None
        parent = payload.get(PARENT_FIELD[level]) if level in PARENT_FIELD else None
        if not isinstance(uid, str) or (level in PARENT_FIELD and not isinstance(parent, str)):
            return None
        known = (parent, uid)
        self._keep(self._known, key, known)
        return known

    def orthanc_id(self, level: str, dicom_uid: str) -> str | None:
        """The Orthanc id of the one resource of ``level`` with this DICOM identifier."""
        key = (level, dicom_uid)
        with self._lock:
            found = self._ids.get(key)
        if found is not None:
            return found
        try:
            answer = json.loads(orthanc.RestApiPost("/tools/lookup", dicom_uid))
        except (orthanc.OrthancException, ValueError):
            return None
        if not isinstance(answer, list):
            return None
        matches = [
            item.get("ID")
            for item in answer
            if isinstance(item, dict) and item.get("Type") == LOOKUP_TYPE[level]
        ]
        if len(matches) != 1 or not isinstance(matches[0], str):
            return None
        self._keep(self._ids, key, matches[0])
        return matches[0]


def orthanc_chain(resources: Resources, level: str, orthanc_id: str) -> list[Access]:
    """The resource and those above it, patient first; the resource alone, by its id, when this
    Orthanc does not know it."""
    chain: list[Access] = []
    current_level: str | None = level
    current_id: str | None = orthanc_id
    while current_level is not None and current_id is not None:
        known = resources.describe(current_level, current_id)
        if known is None:
            return [Access(level, orthanc_id=orthanc_id)]
        parent, uid = known
        chain.append(Access(current_level, orthanc_id=current_id, dicom_uid=uid))
        current_id = parent
        current_level = PARENT_LEVEL.get(current_level)
    chain.reverse()
    return chain


def dicom_chain(resources: Resources, uids: list[tuple[str, str]]) -> list[Access]:
    """The resources a DICOMweb URI names by UID (study, then series, then instance), with
    the study's patient first."""
    chain: list[Access] = []
    for level, uid in uids:
        orthanc_id = resources.orthanc_id(level, uid)
        if level in ("study", "patient") and orthanc_id is not None:
            chain.extend(orthanc_chain(resources, level, orthanc_id))
        else:
            chain.append(Access(level, orthanc_id=orthanc_id, dicom_uid=uid))
    return chain


def _argument(get: dict[str, str], level: str) -> str:
    for name in QIDO_ARGUMENTS[level]:
        for key in (name, name.lower()):
            value = get.get(key)
            if value:
                return value
    return ""


def accesses_of(
    resources: Resources, settings: Settings, uri: str, get: dict[str, str]
) -> list[Access]:
    """The resources ``uri`` touches, in the order the official plugin asks about them."""
    match = _RESOURCE.match(uri)
    if match:
        return orthanc_chain(resources, PLURALS[match.group(1)], match.group(2))
    match = _VIEWER_SERIES.match(uri)
    if match:
        return orthanc_chain(resources, "series", match.group(2))
    match = _VIEWER_INSTANCE.match(uri)
    if match:
        return orthanc_chain(resources, "instance", match.group(1))
    root = re.escape(settings.dicomweb_root)
    uid = r"([.0-9]+)"
    match = re.match(rf"^{root}/studies/{uid}(|/series|/metadata)(|/)$", uri)
    if match:
        return dicom_chain(resources, [("study", match.group(1))])
    match = re.match(
        rf"^{root}/studies/{uid}/series/{uid}(|/instances|/rendered|/metadata)(|/)$", uri
    )
    if match:
        return dicom_chain(resources, [("study", match.group(1)), ("series", match.group(2))])
    match = re.match(
        rf"^{root}/studies/{uid}/series/{uid}/instances/{uid}"
        r"(|/|/frames/.*|/rendered|/metadata|/bulk/.*)(|/)$",
        uri,
    )
    if match:
        return dicom_chain(
            resources,
            [("study", match.group(1)), ("series", match.group(2)), ("instance", match.group(3))],
        )
    if re.match(rf"^{root}/(studies|series|instances)(|/)$", uri):
        study, series, instance = (
            _argument(get, level) for level in ("study", "series", "instance")
        )
        patient = _argument(get, "patient")
        if study and series and instance:
            return dicom_chain(
                resources, [("study", study), ("series", series), ("instance", instance)]
            )
        if study and series:
            return dicom_chain(resources, [("study", study), ("series", series)])
        if study:
            return dicom_chain(resources, [("study", study)])
        if patient:
            return dicom_chain(resources, [("patient", patient)])
    return [Access("system", uri=uri.rstrip("/") or "/")]


# --- Asking the portal ----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an error: refused


class Answers:
    """The portal's answers, each kept for its ``validity`` seconds."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._answers: dict[tuple[Any, ...], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bool | None:
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(key)
            if kept is None:
                return None
            granted, until = kept
            if now >= until:
                del self._answers[key]
                return None
            return granted

    def keep(self, key: tuple[Any, ...], granted: bool, validity_s: int) -> None:
        if validity_s <= 0:
            return
        until = time.monotonic() + validity_s
        with self._lock:
            if len(self._answers) >= self._size:
                now = time.monotonic()
                for stale in [k for k, (_g, end) in self._answers.items() if end <= now]:
                    del self._answers[stale]
                if len(self._answers) >= self._size:
                    self._answers.clear()
            self._answers[key] = (granted, until)


class PortalAuthorization:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources = Resources(settings.cache_size)
        self.answers = Answers(settings.cache_size)
        handlers: list[Any] = [_NoRedirect()]
        proxy = settings.http_proxy
        if proxy and "://" not in proxy:
            proxy = f"http://{proxy}"
        handlers.append(
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {})
        )
        context = ssl.create_default_context(cafile=settings.ca_certificates)
        handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def tokens(self, headers: dict[str, str], get: dict[str, str]) -> list[tuple[str, str]]:
        """(token-key, token-value) of each configured header and GET argument present."""
        found = []
        for name in self.settings.token_headers:
            value = headers.get(name.lower())
            if value:
                found.append((name, value))
        for name in self.settings.token_arguments:
            value = get.get(name)
            if value:
                found.append((name, value))
        return found

    def body(self, method: str, access: Access, token: tuple[str, str] | None) -> dict[str, Any]:
        """What the official plugin posts (AuthorizationWebService::IsGrantedInternal)."""
        body: dict[str, Any] = {"method": method, "level": access.level}
        if access.level == "system":
            body["uri"] = access.uri
        else:
            body["orthanc-id"] = access.orthanc_id
            body["dicom-uid"] = access.dicom_uid
        if token is not None:
            body["token-key"], body["token-value"] = token
        body["server-id"] = self.settings.server_id
        return body

    def ask(self, body: dict[str, Any]) -> tuple[bool, int] | None:
        """(granted, validity) from the portal; None when it did not answer by the protocol."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.basic_authorization:
            headers["Authorization"] = self.settings.basic_authorization
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
            self.settings.validate_url,
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.settings.timeout_s) as response:
                if response.status != 200:
                    return _no_answer(f"status {response.status}")
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            return _no_answer(f"status {error.code}")
        except (OSError, ValueError) as error:  # unreachable, timeout, not JSON
            return _no_answer(type(error).__name__)
        if not isinstance(answer, dict) or not isinstance(answer.get("granted"), bool):
            return _no_answer('no boolean "granted"')
        validity = answer.get("validity", 0)
        if isinstance(validity, bool) or not isinstance(validity, int) or validity < 0:
            return _no_answer('"validity" is not a non-negative integer')
        return answer["granted"], validity

    def granted(self, method: str, access: Access, token: tuple[str, str] | None) -> bool:
        key = (method, access.level, access.orthanc_id, access.dicom_uid, access.uri, token)
        kept = self.answers.get(key)
        if kept is not None:
            return kept
        answer = self.ask(self.body(method, access, token))
        if answer is None:
            return False  # not kept: the next request asks again
        granted, validity = answer
        self.answers.keep(key, granted, validity)
        return granted

    def allows(self, uri: str, method: str, headers: dict[str, str], get: dict[str, str]) -> bool:
        if method == "get" and (
            uri in self.settings.unchecked_resources
            or any(uri.startswith(folder) for folder in self.settings.unchecked_folders)
        ):
            return True
        tokens: list[tuple[str, str] | None] = [*self.tokens(headers, get)] or [None]
        for access in accesses_of(self.resources, self.settings, uri, get):
            for token in tokens:
                if self.granted(method, access, token):
                    return True
        return False


def _no_answer(reason: str) -> tuple[bool, int] | None:
    """No answer from the portal (hence a refusal), and why in Orthanc's log: never the token
    nor an identifier."""
    orthanc.LogWarning(f"PortalAuthorization: the portal did not answer ({reason}): refused")
    return None


# --- Orthanc's hook -------------------------------------------------------------------------------


def _load() -> PortalAuthorization | None:
    try:
        configuration = json.loads(orthanc.GetConfiguration())
        settings = settings_read(configuration)
    except (ValueError, TypeError) as error:
        orthanc.LogError(f"PortalAuthorization: {error}; every HTTP request is refused")
        return None
    if configuration.get("AuthenticationEnabled") is True:
        orthanc.LogWarning(
            "PortalAuthorization: AuthenticationEnabled is true, so Orthanc refuses viewer "
            "tokens before asking the portal; set it to false"
        )
    orthanc.LogWarning(f"PortalAuthorization: asking {settings.validate_url}")
    return PortalAuthorization(settings)


_PLUGIN = _load()


def filter_request(uri: str, **request: Any) -> bool:
    """Orthanc's IncomingHttpRequestFilter: True lets the request through, False answers 403."""
    if _PLUGIN is None:
        return False
    try:
        method = METHODS.get(int(request.get("method", 0)))
        if method is None:
            return False
        headers = request.get("headers") or {}
        get = request.get("get") or {}
        return _PLUGIN.allows(uri, method, headers, get)
    except Exception as error:  # fail closed, whatever went wrong
        orthanc.LogError(f"PortalAuthorization: {type(error).__name__}: refused")
        return False


orthanc.RegisterIncomingHttpRequestFilter(filter_request)
