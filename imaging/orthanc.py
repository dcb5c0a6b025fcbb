"""The one module that speaks HTTP to Orthanc archives (REST API, Orthanc 1.10+).

Typed methods with timeouts; every failure becomes an ``OrthancError`` subclass carrying a
one-line French message fit for the source's page (never the password):
``OrthancUnreachable`` (connection refused, DNS, timeout), ``OrthancCredentialsError``
(401/403), ``OrthancNotFound`` (404) and ``OrthancProtocolError`` (anything else unexpected).

The client keeps one HTTP session per thread, so the sync may fetch study details from a few
threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0


class OrthancError(Exception):
    """An archive call failed; ``str(error)`` is a one-line French message."""

    kind = "protocol"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class OrthancUnreachable(OrthancError):
    kind = "unreachable"


class OrthancCredentialsError(OrthancError):
    kind = "credentials"


class OrthancNotFound(OrthancError):
    kind = "not_found"


class OrthancProtocolError(OrthancError):
    kind = "protocol"


class OrthancTooLarge(OrthancProtocolError):
    """A file or value is larger than the caller agreed to read."""

    kind = "too_large"


@dataclass(frozen=True)
class Change:
    seq: int
    change_type: str
    resource_type: str
    resource_id: str


@dataclass(frozen=True)
class ChangesPage:
    changes: list[Change]
    done: bool
    last: int


class OrthancClient:
    """A client of one archive: ``OrthancClient(base_url, username, password)``."""

    def __init__(
        self,
        base_url: str,
        username: str = "",
        password: str = "",
        *,
        timeout_s: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = (username, password) if username else None
        read_timeout = timeout_s or float(
            getattr(settings, "IMAGING_ORTHANC_TIMEOUT_S", DEFAULT_TIMEOUT_S)
        )
        self._timeout = (min(CONNECT_TIMEOUT_S, read_timeout), read_timeout)
        self._local = threading.local()

    # --- plumbing ------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers["Accept"] = "application/json"
            # Orthanc closes idle keep-alive connections after a second: retry a GET once when
            # a pooled connection turns out to be closed, never on an HTTP error status.
            retry = Retry(total=2, connect=1, read=1, status=0, other=0, allowed_methods={"GET"})
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self._send(
            method,
            path,
            params=params,
            data=data,
            json=json_body,
            headers=headers,
        )
        status = response.status_code
        if status >= 400:
            raise self._status_error(status, method, path)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise OrthancProtocolError(
                _("L'archive a renvoyé une réponse illisible à %(method)s %(path)s.")
                % {"method": method, "path": path},
                status=status,
            ) from exc

    def _get_dict(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = self._request("GET", path, params=params)
        if not isinstance(payload, dict):
            raise OrthancProtocolError(
                _("Réponse inattendue de l'archive à GET %(path)s.") % {"path": path}
            )
        return payload

    def _get_list(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        payload = self._request("GET", path, params=params)
        if not isinstance(payload, list):
            raise OrthancProtocolError(
                _("Réponse inattendue de l'archive à GET %(path)s.") % {"path": path}
            )
        return payload

    # --- reads ---------------------------------------------------------------------------

    def system(self) -> dict[str, Any]:
        """``GET /system``: name and version; the connection test."""
        return self._get_dict("/system")

    def changes(self, *, since: int, limit: int) -> ChangesPage:
        """``GET /changes?since=&limit=``: the change log after ``since``."""
        payload = self._get_dict("/changes", {"since": since, "limit": limit})
        try:
            changes = [
                Change(
                    seq=int(item["Seq"]),
                    change_type=str(item["ChangeType"]),
                    resource_type=str(item.get("ResourceType", "")),
                    resource_id=str(item.get("ID", "")),
                )
                for item in payload["Changes"]
            ]
            return ChangesPage(
                changes=changes, done=bool(payload["Done"]), last=int(payload["Last"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OrthancProtocolError(
                _("Journal des changements illisible (GET /changes).")
            ) from exc

    def last_change_seq(self) -> int:
        """The number of the archive's latest change (``GET /changes?last``)."""
        payload = self._get_dict("/changes", {"last": ""})
        try:
            return int(payload["Last"])
        except (KeyError, TypeError, ValueError) as exc:
            raise OrthancProtocolError(
                _("Journal des changements illisible (GET /changes?last).")
            ) from exc

    def study(self, study_id: str) -> dict[str, Any]:
        """``GET /studies/{id}``: main tags of the study and of its patient, series ids."""
        return self._get_dict(f"/studies/{study_id}")

    def patient(self, patient_id: str) -> dict[str, Any]:
        """``GET /patients/{id}``: the patient's main tags (``MainDicomTags.PatientID``)."""
        return self._get_dict(f"/patients/{patient_id}")

    def parent_study(self, level: str, resource_id: str) -> dict[str, Any]:
        """``GET /series/{id}/study`` or ``GET /instances/{id}/study``: the study a series
        or an instance belongs to (its ``ID`` and main tags), in one call."""
        if level not in ("series", "instances"):
            raise ValueError(f"no parent study at level {level!r}")
        return self._get_dict(f"/{level}/{resource_id}/study")

    def lookup(self, dicom_uid: str) -> list[dict[str, Any]]:
        """``POST /tools/lookup``: the resources (``ID``, ``Type``) a DICOM identifier names."""
        payload = self._request(
            "POST", "/tools/lookup", data=dicom_uid.encode(), headers={"Content-Type": "text/plain"}
        )
        if not isinstance(payload, list):
            raise OrthancProtocolError(_("Réponse inattendue de l'archive à POST /tools/lookup."))
        return [item for item in payload if isinstance(item, dict)]

    def study_series(self, study_id: str) -> list[dict[str, Any]]:
        """``GET /studies/{id}/series``: each series with its modality and instance ids."""
        return self._get_list(f"/studies/{study_id}/series")

    def instance_tags(
        self, instance_id: str, *, full_length: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """``GET /instances/{id}/tags?simplify``: every tag of one instance, by keyword.

        Orthanc leaves out values longer than 256 bytes unless named in ``full_length``.
        """
        params: dict[str, Any] = {"simplify": ""}
        if full_length:
            params["ignore-length"] = ",".join(full_length)
        return self._get_dict(f"/instances/{instance_id}/tags", params)

    def study_ids(self, *, since: int, limit: int) -> list[str]:
        """One page of the archive's full study list (``GET /studies?since=&limit=``)."""
        return [str(item) for item in self._get_list("/studies", {"since": since, "limit": limit})]

    def iter_study_ids(self, *, page_size: int = 1000) -> Iterator[list[str]]:
        """Every study id of the archive, a page at a time."""
        since = 0
        while True:
            page = self.study_ids(since=since, limit=page_size)
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            since += len(page)

    def instance_content(self, instance_id: str, tag: str, *, max_bytes: int) -> bytes:
        """``GET /instances/{id}/content/{gggg-eeee}``: the raw value of one tag (an
        EncapsulatedDocument, say), padding included; ``OrthancTooLarge`` past ``max_bytes``."""
        return self._get_bytes(
            f"/instances/{instance_id}/content/{tag}", max_bytes=max_bytes, accept="*/*"
        )

    def instance_file(self, instance_id: str, *, max_bytes: int) -> bytes:
        """``GET /instances/{id}/file``: the stored DICOM file; ``OrthancTooLarge`` past
        ``max_bytes``."""
        return self._get_bytes(
            f"/instances/{instance_id}/file", max_bytes=max_bytes, accept="application/dicom"
        )

    def _get_bytes(self, path: str, *, max_bytes: int, accept: str) -> bytes:
        """A binary GET read a chunk at a time, stopping as soon as more than ``max_bytes``
        arrive (counted after decompression: Orthanc gzips its answers)."""
        response = self._send("GET", path, headers={"Accept": accept}, stream=True)
        with response:
            if response.status_code >= 400:
                raise self._status_error(response.status_code, "GET", path)
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise OrthancTooLarge(
                            _("Fichier trop volumineux dans l'archive (plus de %(size)s octets).")
                            % {"size": max_bytes}
                        )
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise self._unreachable(exc) from exc
        return b"".join(chunks)

    def _send(self, method: str, path: str, **options: Any) -> requests.Response:
        """One HTTP request to the archive; a connection failure or a timeout is
        ``OrthancUnreachable``."""
        try:
            return self._session().request(
                method, self.base_url + path, timeout=self._timeout, **options
            )
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, error: requests.RequestException) -> OrthancUnreachable:
        if isinstance(error, requests.Timeout):
            return OrthancUnreachable(
                _("L'archive %(url)s ne répond pas dans le délai imparti.") % {"url": self.base_url}
            )
        return OrthancUnreachable(
            _("Archive injoignable à l'adresse %(url)s (connexion impossible).")
            % {"url": self.base_url}
        )

    def _status_error(self, status: int, method: str, path: str) -> OrthancError:
        """The error an HTTP error status means."""
        if status in (401, 403):
            return OrthancCredentialsError(
                _(
                    "L'archive refuse les identifiants (HTTP %(status)s) : vérifiez "
                    "l'utilisateur et le mot de passe Orthanc."
                )
                % {"status": status},
                status=status,
            )
        if status == 404:
            return OrthancNotFound(
                _("Ressource introuvable dans l'archive (HTTP 404) : %(path)s") % {"path": path},
                status=status,
            )
        return OrthancProtocolError(
            _("L'archive a répondu HTTP %(status)s à %(method)s %(path)s.")
            % {"status": status, "method": method, "path": path},
            status=status,
        )

    # --- writes (tests, the benchmark and operators' tooling) ----------------------------

    def upload_instance(self, dicom: bytes) -> dict[str, Any]:
        """``POST /instances`` with a DICOM file; returns Orthanc's ids for it."""
        payload = self._request(
            "POST", "/instances", data=dicom, headers={"Content-Type": "application/dicom"}
        )
        if not isinstance(payload, dict):
            raise OrthancProtocolError(_("Réponse inattendue de l'archive à POST /instances."))
        return payload

    def delete_study(self, study_id: str) -> None:
        """``DELETE /studies/{id}``."""
        self._request("DELETE", f"/studies/{study_id}")
