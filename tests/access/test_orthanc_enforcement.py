"""End to end: a real Orthanc, with the project's authorization plugin
(``orthanc/portal_authorization.py``) and the DICOMweb plugin, asks the portal before every REST
and DICOMweb request, and serves only what the portal grants.

Two archives, one Orthanc process each for the whole module:

- the *enforcing* archive asks the portal itself (pytest-django's live server): two patients'
  studies, synced into the index through the plugin, opened by viewer tokens of the cast's GP;
- the *stub* archive asks a stand-in of the web service that records every body the plugin posts
  and answers as each test tells it: the protocol, the cache and the fail-closed cases.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pydicom
import pytest
import requests
from django.utils import timezone
from pydicom.uid import generate_uid

from access.fact_cache import facts_kept
from access.models import AccessGrant, BreakGlassAccess
from access.services import break_glass_open, grant_create, grant_revoke
from access.tokens import viewer_token_issue, viewer_token_revoke
from audit.models import AccessEvent, Channel, Rule
from imaging.models import ArchiveSource, ImagingStudy
from imaging.services import archive_source_create
from imaging.sync import source_sync
from portal.models import User
from tests.imaging.orthanc_lab import (
    DICOMWEB_PLUGIN,
    ORTHANC_BINARY,
    PYTHON_PLUGIN,
    AuthorizingOrthancLab,
    dicom_instance,
    free_port,
)

# One Orthanc per archive for the module: keep its tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("orthanc_enforcement")
live = pytest.mark.django_db(transaction=True)

CALLBACK_USER = "orthanc-e2e"
CALLBACK_PASSWORD = "un-mot-de-passe-de-rappel-assez-long"
SERVER_ID = "archive-de-test"
JUSTIFICATION = (
    "Patient inconscient aux urgences après une chute : il me faut ses examens antérieurs."
)
WADO_DICOM = 'multipart/related; type="application/dicom"'


# --- Synthetic studies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """One study of one patient as the archive holds it: Orthanc ids and DICOM UIDs."""

    patient_id: str  # DICOM PatientID
    orthanc_patient: str
    orthanc_study: str
    orthanc_series: str
    orthanc_instance: str
    study_uid: str
    series_uid: str
    instance_uid: str


def _study_instances(patient_id: str, patient_name: str) -> list[bytes]:
    study_uid, series_uid = generate_uid(), generate_uid()
    return [
        dicom_instance(
            patient_id=patient_id,
            patient_name=patient_name,
            study_uid=study_uid,
            series_uid=series_uid,
            description="SCANNER THORAX",
        )
        for _ in range(2)
    ]


def _loaded(patient_id: str, data: bytes, answer: dict[str, str]) -> Loaded:
    dataset = pydicom.dcmread(io.BytesIO(data))
    return Loaded(
        patient_id=patient_id,
        orthanc_patient=answer["ParentPatient"],
        orthanc_study=answer["ParentStudy"],
        orthanc_series=answer["ParentSeries"],
        orthanc_instance=answer["ID"],
        study_uid=str(dataset.StudyInstanceUID),
        series_uid=str(dataset.SeriesInstanceUID),
        instance_uid=str(dataset.SOPInstanceUID),
    )


def _skip_without_orthanc() -> None:
    for needed in (ORTHANC_BINARY, PYTHON_PLUGIN, DICOMWEB_PLUGIN):
        if not needed.exists():
            pytest.skip(f"{needed} is missing: `make test` installs Orthanc and its plugins")


def _get(
    lab: AuthorizingOrthancLab,
    path: str,
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    method: str = "GET",
) -> requests.Response:
    sent = dict(headers or {})
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    return requests.request(
        method, f"{lab.url}{path}", headers=sent, params=params, auth=auth, timeout=15
    )


# --- The enforcing archive: Orthanc asks the portal ----------------------------------------------


@dataclass(frozen=True)
class Enforcing:
    lab: AuthorizingOrthancLab
    granted: Loaded  # the patient the GP is given access to
    other: Loaded  # another patient of the same archive


@pytest.fixture(scope="module")
def enforcing(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Enforcing]:
    _skip_without_orthanc()
    port = urlsplit(live_server.url).port
    lab = AuthorizingOrthancLab(
        tmp_path_factory.mktemp("enforcing"),
        name="ENFORCING",
        web_service_url=f"http://127.0.0.1:{port}/orthanc-auth/",
        web_service_username=CALLBACK_USER,
        web_service_password=CALLBACK_PASSWORD,
    )
    first = _study_instances("IPP-E2E-1", "MARTIN^Paul")
    second = _study_instances("IPP-E2E-2", "BERNARD^Lucie")
    try:
        answers = lab.load([*first, *second])
        yield Enforcing(
            lab=lab,
            granted=_loaded("IPP-E2E-1", first[0], answers[0]),
            other=_loaded("IPP-E2E-2", second[0], answers[2]),
        )
    finally:
        lab.stop(hard=True)  # its data is thrown away


@dataclass(frozen=True)
class Indexed:
    lab: AuthorizingOrthancLab
    source: ArchiveSource
    granted: Loaded
    granted_study: ImagingStudy
    other: Loaded
    other_study: ImagingStudy


@pytest.fixture
def keeping_facts(settings: Any) -> Iterator[None]:
    """The portal keeps facts as in production (``access.fact_cache``; the test suite keeps
    none elsewhere), shortened to fit each test's validity."""
    settings.ACCESS_FACTS_CACHE_S = 5
    yield
    facts_kept.stop()


@pytest.fixture
def archive(enforcing: Enforcing, hospital: Any, keeping_facts: None) -> Indexed:
    """The hospital's archive connected to the portal (sync and callback credentials) and
    synced into the index, through the plugin."""
    lab = enforcing.lab
    source = archive_source_create(
        establishment=hospital,
        base_url=lab.url,
        username=lab.username,
        password=lab.password,
        callback_username=CALLBACK_USER,
        callback_password=CALLBACK_PASSWORD,
        viewer_url=f"{lab.url}/dicom-web/studies/{{study_instance_uid}}/series?token={{token}}",
    )
    source_sync(source=source)
    studies = ImagingStudy.objects.select_related("patient").filter(source=source)
    return Indexed(
        lab=lab,
        source=source,
        granted=enforcing.granted,
        granted_study=studies.get(archive_id=enforcing.granted.orthanc_study),
        other=enforcing.other,
        other_study=studies.get(archive_id=enforcing.other.orthanc_study),
    )


def _grant(gp: User, study: ImagingStudy, *, by: User) -> AccessGrant:
    assert study.patient is not None
    return grant_create(
        by=by,
        practitioner=gp.practitioner,
        patient=study.patient,
        reason=AccessGrant.Reason.REFERRAL,
        valid_until=timezone.now() + datetime.timedelta(days=7),
    )


def _archive_events() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(channel=Channel.ARCHIVE).order_by("id"))


def _reads(archive: Indexed, study: Loaded, token: str) -> dict[str, int]:
    """The status of each way a viewer reads ``study``: REST, QIDO-RS and WADO-RS, with the
    token as a bearer header, the ``token`` header and the ``token`` GET argument."""
    lab = archive.lab
    series = f"/dicom-web/studies/{study.study_uid}/series/{study.series_uid}"
    return {
        "rest study": _get(lab, f"/studies/{study.orthanc_study}", bearer=token).status_code,
        "rest file": _get(
            lab, f"/instances/{study.orthanc_instance}/file", headers={"token": token}
        ).status_code,
        "qido series": _get(
            lab, f"/dicom-web/studies/{study.study_uid}/series", params={"token": token}
        ).status_code,
        "qido search": _get(
            lab, "/dicom-web/studies", bearer=token, params={"StudyInstanceUID": study.study_uid}
        ).status_code,
        "wado metadata": _get(lab, f"{series}/metadata", bearer=token).status_code,
        "wado instance": _get(
            lab,
            f"{series}/instances/{study.instance_uid}",
            bearer=token,
            headers={"Accept": WADO_DICOM},
        ).status_code,
    }


ALL_READ = dict.fromkeys(
    ["rest study", "rest file", "qido series", "qido search", "wado metadata", "wado instance"],
    200,
)
ALL_REFUSED = dict.fromkeys(ALL_READ, 403)


def _within(seconds: float, condition: Callable[[], bool]) -> float:
    """Seconds until ``condition()`` holds; fails after ``seconds``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - start


@live
def test_the_sync_reads_the_archive_through_the_plugin_and_may_not_write(archive) -> None:
    lab = archive.lab
    sync_credentials = (lab.username, lab.password)
    study_path = f"/studies/{archive.other.orthanc_study}"

    # The fixture's sync went through the plugin: both studies are indexed, with their patient.
    assert archive.granted_study.patient.pk != archive.other_study.patient.pk
    assert _get(lab, study_path, auth=sync_credentials).status_code == 200
    assert _get(lab, study_path, auth=sync_credentials, method="DELETE").status_code == 403
    assert _get(lab, study_path, auth=(lab.username, "pas-le-bon")).status_code == 403
    assert _get(lab, study_path).status_code == 403
    assert _get(lab, study_path, auth=sync_credentials).status_code == 200  # still there
    assert _archive_events() == []  # no user behind the portal's own reads


@live
def test_a_gp_with_a_grant_reads_the_study_over_rest_qido_and_wado(
    archive, gp, radiologist
) -> None:
    _grant(gp, archive.granted_study, by=radiologist)
    minted = viewer_token_issue(user=gp, study_instance_uid=archive.granted.study_uid)
    token = minted.token

    # The viewer address the portal gives opens the study's series list.
    assert minted.url is not None
    opened = requests.get(minted.url, timeout=15)
    assert opened.status_code == 200
    assert [item["0020000E"]["Value"] for item in opened.json()] == [[archive.granted.series_uid]]
    assert _reads(archive, archive.granted, token) == ALL_READ
    study = _get(archive.lab, f"/studies/{archive.granted.orthanc_study}", bearer=token).json()
    assert study["MainDicomTags"]["StudyInstanceUID"] == archive.granted.study_uid
    file = _get(archive.lab, f"/instances/{archive.granted.orthanc_instance}/file", bearer=token)
    assert file.content[128:132] == b"DICM"
    events = _archive_events()
    assert events
    assert {(e.actor_id, e.patient_id, e.study_id, e.granted, e.rule) for e in events} == {
        (gp.pk, archive.granted_study.patient_id, archive.granted_study.pk, True, Rule.GRANT)
    }


@live
def test_the_gp_gets_403_for_another_patients_study(archive, gp, radiologist) -> None:
    _grant(gp, archive.granted_study, by=radiologist)
    token = viewer_token_issue(user=gp, study_instance_uid=None).token
    one_study = viewer_token_issue(user=gp, study_instance_uid=archive.granted.study_uid).token
    lab = archive.lab

    assert _reads(archive, archive.granted, token) == ALL_READ
    assert _reads(archive, archive.other, token) == ALL_REFUSED
    assert _reads(archive, archive.other, one_study) == ALL_REFUSED
    # Lists of the archive, and no token or a made-up one.
    assert _get(lab, "/studies", bearer=token).status_code == 403
    assert _get(lab, "/dicom-web/studies", bearer=token).status_code == 403
    assert _get(lab, f"/studies/{archive.granted.orthanc_study}").status_code == 403
    assert _get(lab, f"/studies/{archive.granted.orthanc_study}", bearer="x" * 43).status_code == (
        403
    )
    assert _get(lab, "/system", bearer=token).status_code == 200  # what a viewer checks first
    refused = [e for e in _archive_events() if not e.granted]
    assert refused
    assert {(e.actor_id, e.patient_id, e.study_id, e.rule) for e in refused} == {
        (gp.pk, archive.other_study.patient_id, archive.other_study.pk, Rule.NO_RIGHT)
    }


@live
def test_revoking_the_grant_closes_the_archive_within_the_validity(
    archive, gp, radiologist, settings
) -> None:
    settings.ACCESS_DECISION_VALIDITY_S = 2
    grant = _grant(gp, archive.granted_study, by=radiologist)
    token = viewer_token_issue(user=gp, study_instance_uid=archive.granted.study_uid).token
    path = f"/studies/{archive.granted.orthanc_study}"
    assert _get(archive.lab, path, bearer=token).status_code == 200

    grant_revoke(by=radiologist, grant=grant)

    _within(2 + 1, lambda: _get(archive.lab, path, bearer=token).status_code == 403)
    assert _reads(archive, archive.granted, token) == ALL_REFUSED


@live
def test_revoking_the_token_closes_the_archive_within_the_validity(
    archive, gp, radiologist, settings
) -> None:
    settings.ACCESS_DECISION_VALIDITY_S = 2
    _grant(gp, archive.granted_study, by=radiologist)
    minted = viewer_token_issue(user=gp, study_instance_uid=archive.granted.study_uid)
    other = viewer_token_issue(user=gp, study_instance_uid=archive.granted.study_uid)
    path = f"/studies/{archive.granted.orthanc_study}"
    assert _get(archive.lab, path, bearer=minted.token).status_code == 200

    viewer_token_revoke(token=minted.record)

    _within(2 + 1, lambda: _get(archive.lab, path, bearer=minted.token).status_code == 403)
    assert _get(archive.lab, path, bearer=other.token).status_code == 200  # only that token


@live
def test_break_the_glass_opens_the_study_and_the_trail_shows_each_decision(
    archive, gp, settings
) -> None:
    settings.ACCESS_DECISION_VALIDITY_S = 1
    token = viewer_token_issue(user=gp, study_instance_uid=None).token
    path = f"/studies/{archive.other.orthanc_study}"
    assert _get(archive.lab, path, bearer=token).status_code == 403

    opened = break_glass_open(
        user=gp,
        patient=archive.other_study.patient,
        category=BreakGlassAccess.Category.LIFE_THREATENING,
        justification=JUSTIFICATION,
    )

    _within(1 + 1, lambda: _get(archive.lab, path, bearer=token).status_code == 200)
    assert _reads(archive, archive.other, token) == ALL_READ
    events = _archive_events()
    decisions = [(e.granted, e.rule, e.break_glass_id) for e in events]
    first_grant = decisions.index((True, Rule.BREAK_GLASS, opened.pk))
    assert first_grant > 0
    assert set(decisions[:first_grant]) == {(False, Rule.NO_RIGHT, None)}
    assert set(decisions[first_grant:]) == {(True, Rule.BREAK_GLASS, opened.pk)}
    assert {(e.actor_id, e.patient_id, e.study_id, e.study_instance_uid) for e in events} == {
        (gp.pk, archive.other_study.patient_id, archive.other_study.pk, archive.other.study_uid)
    }


# --- The stub archive: the protocol, the cache, failing closed -----------------------------------


@dataclass(frozen=True)
class Posted:
    path: str
    authorization: str | None
    content_type: str | None
    body: Any


class PortalStub:
    """A stand-in for the portal's web service on 127.0.0.1: records what is posted to it and
    answers ``status`` and ``reply`` after ``delay_s`` seconds."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posted: list[Posted] = []
        self.server: ThreadingHTTPServer | None = None
        self.answer(granted=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/orthanc-auth/"

    def answer(
        self,
        *,
        granted: bool | None = None,
        validity: int = 0,
        status: int = 200,
        reply: bytes | None = None,
        delay_s: float = 0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if reply is None:
            reply = json.dumps({"granted": granted, "validity": validity}).encode()
        self.status, self.reply, self.delay_s = status, reply, delay_s
        self.headers = headers or {}

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.posted.append(
                    Posted(
                        self.path,
                        self.headers.get("Authorization"),
                        self.headers.get("Content-Type"),
                        json.loads(raw),
                    )
                )
                time.sleep(stub.delay_s)
                try:
                    self.send_response(stub.status)
                    for name, value in stub.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(stub.reply)))
                    self.end_headers()
                    self.wfile.write(stub.reply)
                except OSError:
                    pass  # the plugin gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bodies(self) -> list[Any]:
        return [posted.body for posted in self.posted]


@dataclass(frozen=True)
class Stubbed:
    lab: AuthorizingOrthancLab
    stub: PortalStub
    study: Loaded


@pytest.fixture(scope="module")
def stubbed_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stubbed]:
    _skip_without_orthanc()
    stub = PortalStub()
    stub.start()
    lab = AuthorizingOrthancLab(
        tmp_path_factory.mktemp("stubbed"),
        name="STUBBED",
        web_service_url=stub.url,
        web_service_username=CALLBACK_USER,
        web_service_password=CALLBACK_PASSWORD,
        web_service_identifier=SERVER_ID,
        timeout_s=1,
    )
    try:
        lab.start()
        instances = _study_instances("STUB-1", "PETIT^Jeanne")
        answers = lab.upload(instances)  # the stand-in grants the upload
        yield Stubbed(lab=lab, stub=stub, study=_loaded("STUB-1", instances[0], answers[0]))
    finally:
        lab.stop(hard=True)
        stub.stop()


@pytest.fixture
def stubbed(stubbed_archive: Stubbed) -> Stubbed:
    stub = stubbed_archive.stub
    if stub.server is None:
        stub.start()
    stub.answer(granted=True)
    stub.posted.clear()
    return stubbed_archive


def _unique(prefix: str) -> str:
    # The plugin keeps answers across tests: a fresh token is asked about for sure.
    return f"{prefix}-{uuid.uuid4().hex}"


def _validate(
    level: str,
    *,
    orthanc_id: str | None = None,
    dicom_uid: str | None = None,
    uri: str | None = None,
    method: str = "get",
    token: tuple[str, str] | None = ("token", "T"),
) -> dict[str, Any]:
    """The body the official plugin posts to ``tokens/validate``."""
    body: dict[str, Any] = {"method": method, "level": level}
    if level == "system":
        body["uri"] = uri
    else:
        body["orthanc-id"] = orthanc_id
        body["dicom-uid"] = dicom_uid
    if token is not None:
        body["token-key"], body["token-value"] = token
    body["server-id"] = SERVER_ID
    return body


def test_it_posts_the_official_plugins_body_for_each_resource_of_the_uri(stubbed) -> None:
    s = stubbed.study
    patient = _validate("patient", orthanc_id=s.orthanc_patient, dicom_uid=s.patient_id)
    study = _validate("study", orthanc_id=s.orthanc_study, dicom_uid=s.study_uid)
    series = _validate("series", orthanc_id=s.orthanc_series, dicom_uid=s.series_uid)
    instance = _validate("instance", orthanc_id=s.orthanc_instance, dicom_uid=s.instance_uid)
    dicomweb = f"/dicom-web/studies/{s.study_uid}/series/{s.series_uid}"
    unknown_id = "11111111-11111111-11111111-11111111-11111111"
    expected = {
        f"/patients/{s.orthanc_patient}": [patient],
        f"/studies/{s.orthanc_study}": [patient, study],
        f"/series/{s.orthanc_series}/instances": [patient, study, series],
        f"/instances/{s.orthanc_instance}/file": [patient, study, series, instance],
        f"/dicom-web/studies/{s.study_uid}/series": [patient, study],
        f"{dicomweb}/metadata": [patient, study, series],
        f"{dicomweb}/instances/{s.instance_uid}/frames/1": [patient, study, series, instance],
        f"/dicom-web/studies?StudyInstanceUID={s.study_uid}": [patient, study],
        f"/dicom-web/series?0020000D={s.study_uid}&0020000E={s.series_uid}": [
            patient,
            study,
            series,
        ],
        f"/dicom-web/studies?PatientID={s.patient_id}": [patient],
        "/dicom-web/studies": [_validate("system", uri="/dicom-web/studies")],
        "/studies/": [_validate("system", uri="/studies")],
        # What this Orthanc does not know is asked about by the id the URI names.
        f"/studies/{unknown_id}": [_validate("study", orthanc_id=unknown_id)],
        "/dicom-web/studies/1.2.999/series": [_validate("study", dicom_uid="1.2.999")],
    }
    stubbed.stub.answer(granted=False)  # every resource of the URI is then asked about
    statuses = {}
    posted = {}
    for uri in expected:
        stubbed.stub.posted.clear()
        statuses[uri] = _get(stubbed.lab, uri, headers={"token": "T"}).status_code
        posted[uri] = stubbed.stub.bodies()

    assert posted == expected
    assert set(statuses.values()) == {403}
    assert {(p.path, p.authorization, p.content_type) for p in stubbed.stub.posted} == {
        (
            "/orthanc-auth/tokens/validate",
            "Basic " + base64.b64encode(f"{CALLBACK_USER}:{CALLBACK_PASSWORD}".encode()).decode(),
            "application/json",
        )
    }


def test_the_first_granted_resource_lets_the_request_through(stubbed) -> None:
    s = stubbed.study
    stubbed.stub.answer(granted=True)

    response = _get(stubbed.lab, f"/instances/{s.orthanc_instance}/file", headers={"token": "T"})

    assert response.status_code == 200
    assert response.content[128:132] == b"DICM"
    assert [body["level"] for body in stubbed.stub.bodies()] == ["patient"]


def test_it_reads_the_token_from_the_configured_headers_and_get_arguments(stubbed) -> None:
    stubbed.stub.answer(granted=False)
    cases = {
        "bearer": ({"Authorization": "Bearer B"}, None),
        "token header": ({"TOKEN": "H"}, None),
        "get argument": ({}, {"token": "A"}),
        "unconfigured header": ({"X-Token": "X"}, None),
        "none": ({}, None),
    }
    posted = {}
    for name, (headers, params) in cases.items():
        stubbed.stub.posted.clear()
        _get(stubbed.lab, "/system", headers=headers, params=params)
        posted[name] = [(b.get("token-key"), b.get("token-value")) for b in stubbed.stub.bodies()]

    assert posted == {
        "bearer": [("Authorization", "Bearer B")],
        "token header": [("token", "H")],
        "get argument": [("token", "A")],
        "unconfigured header": [(None, None)],
        "none": [(None, None)],
    }
    assert "token-key" not in stubbed.stub.bodies()[0]  # asked without a token at all


def test_a_write_is_asked_about_with_its_method(stubbed) -> None:
    s = stubbed.study
    stubbed.stub.answer(granted=False)

    deleted = _get(
        stubbed.lab, f"/studies/{s.orthanc_study}", headers={"token": "T"}, method="DELETE"
    )
    found = requests.post(
        f"{stubbed.lab.url}/tools/find", json={"Level": "Study", "Query": {}}, timeout=15
    )

    assert (deleted.status_code, found.status_code) == (403, 403)
    assert [(b["method"], b["level"], b.get("uri")) for b in stubbed.stub.bodies()] == [
        ("delete", "patient", None),
        ("delete", "study", None),
        ("post", "system", "/tools/find"),
    ]


def test_answers_are_kept_for_their_validity_and_never_longer(stubbed) -> None:
    stub, lab = stubbed.stub, stubbed.lab
    a, b, c, d = (_unique("token") for _ in range(4))

    def asks(token: str, *, status: int = 200) -> int:
        before = len(stub.posted)
        assert _get(lab, "/system", headers={"token": token}).status_code == status
        return len(stub.posted) - before

    stub.answer(granted=True, validity=1)
    assert [asks(a), asks(a), asks(b)] == [1, 0, 1]
    time.sleep(1.2)
    assert asks(a) == 1  # expired: asked again

    stub.answer(granted=True, validity=0)
    assert [asks(c), asks(c)] == [1, 1]  # 0: never kept

    stub.answer(granted=False, validity=1)
    assert [asks(d, status=403), asks(d, status=403)] == [1, 0]  # a refusal is kept too


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"status": 500}, id="server error"),
        pytest.param({"status": 401}, id="credentials refused"),
        pytest.param({"status": 302, "headers": {"Location": "/ailleurs"}}, id="redirect"),
        pytest.param({"reply": b"<html>granted</html>"}, id="not json"),
        pytest.param({"reply": b'{"granted": "true", "validity": 10}'}, id="granted not a bool"),
        pytest.param({"reply": b'{"validity": 10}'}, id="no granted"),
        pytest.param({"reply": b'{"granted": true, "validity": -1}'}, id="negative validity"),
        pytest.param({"reply": b'{"granted": true, "validity": "10"}'}, id="validity a string"),
        pytest.param({"reply": b"[true]"}, id="not an object"),
        pytest.param({"granted": True, "validity": 10, "delay_s": 1.5}, id="slower than Timeout"),
    ],
)
def test_it_refuses_when_the_portal_does_not_answer_by_the_protocol(stubbed, answer) -> None:
    token = _unique("token")
    stubbed.stub.answer(**{"granted": True, "validity": 10, **answer})

    refused = _get(stubbed.lab, "/system", headers={"token": token})
    stubbed.stub.answer(granted=True)
    then = _get(stubbed.lab, "/system", headers={"token": token})

    assert refused.status_code == 403
    assert then.status_code == 200  # a failure is not kept
    assert len(stubbed.stub.posted) == 2


def test_it_refuses_everything_when_the_portal_is_unreachable(stubbed) -> None:
    lab, stub = stubbed.lab, stubbed.stub
    sync_credentials = (lab.username, lab.password)
    stub.stop()

    refused = [
        _get(lab, "/system", headers={"token": "T"}),
        _get(lab, f"/studies/{stubbed.study.orthanc_study}", auth=sync_credentials),
        _get(lab, f"/dicom-web/studies/{stubbed.study.study_uid}/series", params={"token": "T"}),
    ]
    stub.start()
    then = _get(lab, f"/studies/{stubbed.study.orthanc_study}", auth=sync_credentials)

    assert [response.status_code for response in refused] == [403, 403, 403]
    assert then.status_code == 200
