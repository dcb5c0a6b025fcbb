"""Contract tests of the authorization web service (``/orthanc-auth/``): the exact bodies the
official Orthanc authorization plugin posts, at every level, and what it reads back."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from pydicom.uid import generate_uid

from access.tokens import viewer_token_mint, viewer_token_revoke
from audit.models import AccessEvent, Channel, Rule
from imaging.models import ArchiveSource, ImagingStudy, Patient
from imaging.orthanc import OrthancClient
from imaging.sync import source_sync
from portal.models import User
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.factories import UserFactory
from tests.imaging.conftest import archive_a, connect, orthanc_a  # noqa: F401 - fixtures
from tests.imaging.factories import ArchiveSourceFactory, ImagingStudyFactory
from tests.imaging.orthanc_lab import dicom_instance

pytestmark = pytest.mark.django_db

VALIDATE = "/orthanc-auth/tokens/validate"
DECODE = "/orthanc-auth/tokens/decode"
PROFILE = "/orthanc-auth/user/get-profile"
CALLBACK_USER = "orthanc-chr-metz"
CALLBACK_PASSWORD = "un-mot-de-passe-de-rappel-assez-long"
HOSPITAL_STUDY_ID = "6b9e19d9-62094390-5f9ddb01-4a191ae7-9766b715"
CLINIC_STUDY_ID = "0a1b2c3d-4e5f6071-8293a4b5-c6d7e8f9-0a1b2c3d"


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _source(establishment: Any, username: str) -> ArchiveSource:
    return ArchiveSourceFactory(
        establishment=establishment,
        callback_username=username,
        callback_password_hash=make_password(CALLBACK_PASSWORD),
        viewer_url="https://pacs.test/ohif/viewer?StudyInstanceUIDs={study_instance_uid}&token={token}",
    )


@pytest.fixture
def client(callback_client: Client) -> Client:
    """Every contract holds through both handlers that may serve the callback."""
    return callback_client


@pytest.fixture
def hospital_archive(record: Record, hospital: Any) -> ArchiveSource:
    """The hospital's archive, holding the record's hospital study."""
    source = _source(hospital, CALLBACK_USER)
    ImagingStudy.objects.filter(pk=record.hospital_study.pk).update(
        source=source, archive_id=HOSPITAL_STUDY_ID
    )
    record.hospital_study.refresh_from_db()
    return source


@pytest.fixture
def clinic_archive(record: Record, clinic: Any) -> ArchiveSource:
    source = _source(clinic, "orthanc-icl")
    ImagingStudy.objects.filter(pk=record.clinic_study.pk).update(
        source=source, archive_id=CLINIC_STUDY_ID
    )
    record.clinic_study.refresh_from_db()
    return source


def _post(
    client: Client,
    url: str,
    body: Any,
    *,
    username: str = CALLBACK_USER,
    password: str = CALLBACK_PASSWORD,
) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        url,
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(username, password),
        REMOTE_ADDR="10.1.2.3",
    )


def _body(
    *,
    level: str,
    token: str | None,
    orthanc_id: str | None = None,
    dicom_uid: str | None = None,
    method: str = "get",
    uri: str | None = None,
) -> dict[str, Any]:
    """What AuthorizationWebService::IsGrantedInternal writes, field for field."""
    body: dict[str, Any] = {"method": method, "level": level}
    if level == "system":
        body["uri"] = uri
    else:
        body["orthanc-id"] = orthanc_id
        body["dicom-uid"] = dicom_uid
    if token is not None:
        body["token-key"] = "token"
        body["token-value"] = token
    body["server-id"] = None
    return body


def _study_body(study: ImagingStudy, token: str | None, **fields: Any) -> dict[str, Any]:
    return _body(
        level="study",
        token=token,
        orthanc_id=study.archive_id,
        dicom_uid=study.study_instance_uid,
        **fields,
    )


def _granted(response: Any) -> bool:
    assert response.status_code == 200, response.content
    payload = response.json()
    assert set(payload) == {"granted", "validity"}
    assert isinstance(payload["validity"], int)
    assert payload["validity"] >= 0
    return bool(payload["granted"])


def _archive_events() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(channel=Channel.ARCHIVE).order_by("id"))


# --- Granted and refused, with their traces ------------------------------------------------------


def test_it_grants_a_study_to_a_practitioner_with_a_grant_and_traces_it(
    client, gp, radiologist, record, hospital_archive, settings
) -> None:
    settings.ACCESS_DECISION_VALIDITY_S = 10
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token

    response = _post(client, VALIDATE, _study_body(record.hospital_study, token))

    assert _granted(response)
    assert 0 < response.json()["validity"] <= 10
    [event] = _archive_events()
    assert (event.actor_id, event.patient_id, event.study_id) == (
        gp.pk,
        record.patient.pk,
        record.hospital_study.pk,
    )
    assert (event.granted, event.rule, event.action, event.purpose) == (
        True,
        Rule.GRANT,
        "read",
        "care",
    )
    assert event.study_instance_uid == record.hospital_study.study_instance_uid
    assert event.source_ip == "10.1.2.3"


def test_it_refuses_a_study_to_a_practitioner_without_a_right_and_traces_it(
    client, gp, record, hospital_archive
) -> None:
    token = viewer_token_mint(user=gp).token

    response = _post(client, VALIDATE, _study_body(record.hospital_study, token))

    assert not _granted(response)
    [event] = _archive_events()
    assert (event.actor_id, event.patient_id, event.study_id, event.granted, event.rule) == (
        gp.pk,
        record.patient.pk,
        record.hospital_study.pk,
        False,
        Rule.NO_RIGHT,
    )


def test_a_study_is_found_by_its_orthanc_id_alone_or_its_uid_alone(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    study = record.hospital_study

    by_id = _body(level="study", token=token, orthanc_id=study.archive_id)
    by_uid = _body(level="study", token=token, dicom_uid=study.study_instance_uid)

    assert _granted(_post(client, VALIDATE, by_id))
    assert _granted(_post(client, VALIDATE, by_uid))
    assert len(_archive_events()) == 2


def test_the_patient_sees_their_own_study(client, patient, record, hospital_archive) -> None:
    token = viewer_token_mint(user=patient, study=record.hospital_study).token

    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    [event] = _archive_events()
    assert (event.actor_id, event.rule) == (patient.pk, Rule.PATIENT_SELF)


def test_break_the_glass_opens_the_study_flagged(client, gp, record, hospital_archive) -> None:
    token = viewer_token_mint(user=gp).token
    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))

    emergency = break_glass(gp, record.patient)

    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    last = _archive_events()[-1]
    assert (last.rule, last.break_glass_id) == (Rule.BREAK_GLASS, emergency.pk)


def test_the_patients_opposition_refuses_the_next_validation(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))

    oppose(record.patient, by=radiologist)

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    assert _archive_events()[-1].rule == Rule.OPPOSITION


def test_the_end_of_the_accreditation_refuses_the_next_validation(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))

    gp.practitioner.accreditations.update(valid_until=timezone.localdate() - datetime.timedelta(1))

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    assert _archive_events()[-1].rule == Rule.NOT_ACCREDITED


def test_revocation_takes_effect_at_the_next_validation(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    minted = viewer_token_mint(user=gp)
    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, minted.token)))

    viewer_token_revoke(token=minted.record)

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, minted.token)))
    assert len(_archive_events()) == 1  # a revoked token reaches no decision


def test_a_bearer_header_value_is_read_as_the_token(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    body = _study_body(record.hospital_study, f"Bearer {token}")
    body["token-key"] = "Authorization"

    assert _granted(_post(client, VALIDATE, body))


# --- Tokens the plugin must refuse ---------------------------------------------------------------


def test_it_refuses_an_unknown_token_without_a_decision(client, record, hospital_archive) -> None:
    response = _post(client, VALIDATE, _study_body(record.hospital_study, "pas-un-jeton"))

    assert not _granted(response)
    assert _archive_events() == []


def test_it_refuses_a_request_without_a_token(client, record, hospital_archive) -> None:
    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, None)))


def test_it_refuses_an_expired_token(client, gp, radiologist, record, hospital_archive) -> None:
    grant_to(gp, record.patient, by=radiologist)
    minted = viewer_token_mint(user=gp)
    type(minted.record).objects.filter(pk=minted.record.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=2),
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, minted.token)))
    assert _archive_events() == []


def test_the_validity_never_exceeds_the_setting_nor_the_tokens_life(
    client, gp, radiologist, record, hospital_archive, settings
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    settings.ACCESS_DECISION_VALIDITY_S = 7
    long_lived = viewer_token_mint(user=gp).token
    short_lived = viewer_token_mint(user=gp, lifetime_s=3).token

    long_answer = _post(client, VALIDATE, _study_body(record.hospital_study, long_lived)).json()
    short_answer = _post(client, VALIDATE, _study_body(record.hospital_study, short_lived)).json()

    assert long_answer == {"granted": True, "validity": 7}
    assert short_answer["granted"] is True
    assert short_answer["validity"] <= 3


def test_a_one_study_token_opens_that_study_only(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    other = ImagingStudyFactory(
        patient_identifier=record.hospital_study.patient_identifier,
        source=hospital_archive,
        archive_id="ffffffff-ffffffff-ffffffff-ffffffff-ffffffff",
    )
    token = viewer_token_mint(user=gp, study=record.hospital_study).token

    assert _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    assert not _granted(_post(client, VALIDATE, _study_body(other, token)))
    patient_level = _body(
        level="patient",
        token=token,
        dicom_uid=record.hospital_study.patient_identifier.patient_id,
    )
    assert not _granted(_post(client, VALIDATE, patient_level))
    assert len(_archive_events()) == 1  # the two refusals reached no decision


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_never_grants_a_write_to_a_viewer_token(
    client, method, patient, record, hospital_archive
) -> None:
    token = viewer_token_mint(user=patient).token  # the patient may read their own study

    response = _post(client, VALIDATE, _study_body(record.hospital_study, token, method=method))

    assert not _granted(response)
    assert _archive_events() == []


# --- Levels --------------------------------------------------------------------------------------


def test_the_patient_level_is_granted_when_every_study_of_this_archive_is(
    client, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    second = ImagingStudyFactory(
        patient_identifier=record.hospital_study.patient_identifier,
        source=hospital_archive,
        archive_id="eeeeeeee-eeeeeeee-eeeeeeee-eeeeeeee-eeeeeeee",
    )
    token = viewer_token_mint(user=gp).token
    body = _body(
        level="patient",
        token=token,
        orthanc_id="c9a1a8e6-7b8b5b6f-0e7fb3a8-0aa4e9c1-25d2f1b5",
        dicom_uid=record.hospital_study.patient_identifier.patient_id,
    )

    assert _granted(_post(client, VALIDATE, body))
    events = _archive_events()
    assert {event.study_id for event in events} == {record.hospital_study.pk, second.pk}
    assert all(event.patient_id == record.patient.pk and event.granted for event in events)


def test_the_care_team_of_one_establishment_gets_no_patient_level_at_another(
    client, radiologist, record, hospital_archive, clinic_archive
) -> None:
    """The radiologist is in the hospital's care team: the clinic's archive asking at patient
    level is decided on the clinic's studies, not on "an establishment knows the patient"."""
    token = viewer_token_mint(user=radiologist).token
    at_clinic = _body(
        level="patient",
        token=token,
        dicom_uid=record.clinic_study.patient_identifier.patient_id,
    )
    at_hospital = _body(
        level="patient",
        token=token,
        dicom_uid=record.hospital_study.patient_identifier.patient_id,
    )

    assert not _granted(_post(client, VALIDATE, at_clinic, username="orthanc-icl"))
    assert _granted(_post(client, VALIDATE, at_hospital))
    refused, granted = _archive_events()
    assert (refused.study_id, refused.granted) == (record.clinic_study.pk, False)
    assert (granted.study_id, granted.granted) == (record.hospital_study.pk, True)


def test_an_archive_resolves_only_its_own_resources(
    client, patient, record, hospital_archive, clinic_archive
) -> None:
    token = viewer_token_mint(user=patient).token

    # The clinic's archive asks about the hospital's study: not its own, so unknown.
    response = _post(
        client, VALIDATE, _study_body(record.hospital_study, token), username="orthanc-icl"
    )

    assert not _granted(response)
    assert _archive_events() == []


def test_an_unknown_resource_is_refused_without_a_decision(
    client, patient, record, hospital_archive
) -> None:
    token = viewer_token_mint(user=patient).token
    unknown_study = _body(
        level="study", token=token, orthanc_id="00000000-00000000-00000000-00000000-00000000"
    )
    unknown_patient = _body(level="patient", token=token, dicom_uid="IPP-INCONNU")

    assert not _granted(_post(client, VALIDATE, unknown_study))
    assert not _granted(_post(client, VALIDATE, unknown_patient))
    assert _archive_events() == []


def test_a_deleted_study_is_unknown(client, patient, record, hospital_archive) -> None:
    token = viewer_token_mint(user=patient).token
    ImagingStudy.objects.filter(pk=record.hospital_study.pk).update(deleted_at=timezone.now())

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))


@pytest.mark.parametrize(
    ("method", "uri", "granted"),
    [
        ("get", "/system", True),
        ("get", "/system/", True),
        ("get", "/patients", False),
        ("get", "/studies", False),
        ("get", "/dicom-web/studies", False),
        ("get", "/changes", False),
        ("get", "/statistics", False),
        ("post", "/tools/find", False),
        ("post", "/system", False),
        ("post", "/instances", False),
    ],
)
def test_system_uris_are_refused_to_viewer_tokens_but_the_allowlist(
    client, gp, hospital_archive, method, uri, granted
) -> None:
    token = viewer_token_mint(user=gp).token

    response = _post(client, VALIDATE, _body(level="system", token=token, method=method, uri=uri))

    assert _granted(response) is granted
    assert _archive_events() == []  # no patient, so no decision


def test_system_uris_need_a_valid_token(client, gp, hospital_archive) -> None:
    minted = viewer_token_mint(user=gp)
    viewer_token_revoke(token=minted.record)

    assert not _granted(
        _post(client, VALIDATE, _body(level="system", token=minted.token, uri="/system"))
    )
    assert not _granted(_post(client, VALIDATE, _body(level="system", token=None, uri="/system")))


def test_labels_are_accepted(client, patient, record, hospital_archive) -> None:
    token = viewer_token_mint(user=patient).token
    body = _study_body(record.hospital_study, token)
    body["labels"] = ["urgences", "scanner"]
    body["server-id"] = "chr-metz"

    assert _granted(_post(client, VALIDATE, body))


# --- Malformed bodies and credentials ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{pas du json", "JSON valide"),
        (b"\xff\xfe", "JSON valide"),
        ("", "JSON valide"),
        ("[1, 2]", "objet JSON"),
        ({"level": "study", "orthanc-id": "x"}, "« method » est obligatoire"),
        ({"method": "get", "orthanc-id": "x"}, "« level » est obligatoire"),
        ({"method": "patch", "level": "study", "orthanc-id": "x"}, "« method » doit valoir"),
        ({"method": "get", "level": "galaxy", "orthanc-id": "x"}, "« level » doit valoir"),
        ({"method": 1, "level": "study", "orthanc-id": "x"}, "« method » doit valoir"),
        ({"method": "get", "level": "study", "orthanc-id": 42}, "« orthanc-id » doit être"),
        ({"method": "get", "level": "study", "dicom-uid": ["1.2"]}, "« dicom-uid » doit être"),
        (
            {"method": "get", "level": "study", "orthanc-id": "x", "token-value": 12},
            "« token-value » doit être",
        ),
        (
            {"method": "get", "level": "study", "orthanc-id": "x", "labels": "urgences"},
            "« labels » doit être",
        ),
        (
            {"method": "get", "level": "study", "orthanc-id": "x", "labels": [1]},
            "« labels » doit être",
        ),
        ({"method": "get", "level": "study"}, "« orthanc-id » ou « dicom-uid »"),
        ({"method": "get", "level": "series", "orthanc-id": None}, "« orthanc-id » ou"),
        ({"method": "get", "level": "system"}, "« uri » est obligatoire"),
    ],
)
def test_a_malformed_body_gets_400_with_a_clear_message(
    client, hospital_archive, body, message
) -> None:
    response = _post(client, VALIDATE, body)

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_decode_and_profile_refuse_malformed_bodies_too(client, hospital_archive) -> None:
    assert _post(client, DECODE, "nope").status_code == 400
    assert _post(client, DECODE, {"token-key": "token"}).status_code == 400
    assert _post(client, PROFILE, [1]).status_code == 400
    response = _post(client, PROFILE, {"token-value": 3})
    assert response.status_code == 400
    assert "token-value" in response.json()["error"]


@pytest.mark.parametrize("url", [VALIDATE, DECODE, PROFILE])
def test_it_answers_401_without_the_archives_credentials(client, hospital_archive, url) -> None:
    response = client.post(url, data="{}", content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    "authorization",
    [
        _basic(CALLBACK_USER, "mauvais-mot-de-passe"),
        _basic("orthanc-inconnu", CALLBACK_PASSWORD),
        _basic("", CALLBACK_PASSWORD),
        "Basic pas-du-base64!",
        "Basic " + base64.b64encode(b"sans-deux-points").decode(),
        "Bearer " + CALLBACK_PASSWORD,
    ],
)
def test_it_answers_401_to_wrong_credentials(
    client, hospital_archive, record, authorization
) -> None:
    response = client.post(
        VALIDATE,
        data=json.dumps(_study_body(record.hospital_study, "x")),
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
    )

    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_an_archive_without_callback_credentials_cannot_call(client, hospital) -> None:
    ArchiveSourceFactory(establishment=hospital, callback_username="", callback_password_hash="")

    response = client.post(
        VALIDATE,
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic("", ""),
    )

    assert response.status_code == 401


def test_only_post_is_allowed(client, hospital_archive) -> None:
    response = client.get(VALIDATE, HTTP_AUTHORIZATION=_basic(CALLBACK_USER, CALLBACK_PASSWORD))

    assert response.status_code == 405


# --- tokens/decode -------------------------------------------------------------------------------


def test_decode_tells_the_type_the_study_and_the_viewer_address(
    client, gp, radiologist, record, hospital_archive
) -> None:
    minted = viewer_token_mint(user=gp, study=record.hospital_study)

    response = _post(client, DECODE, {"token-key": "token", "token-value": minted.token})

    assert response.status_code == 200
    study = record.hospital_study
    assert response.json() == {
        "token-type": "viewer-instant-link",
        "error-code": None,
        "redirect-url": (
            "https://pacs.test/ohif/viewer?StudyInstanceUIDs="
            f"{study.study_instance_uid}&token={minted.token}"
        ),
        "resources": [
            {
                "level": "study",
                "dicom-uid": study.study_instance_uid,
                "orthanc-id": study.archive_id,
            }
        ],
    }


def test_decode_tells_unknown_expired_and_revoked_tokens_apart(
    client, gp, record, hospital_archive
) -> None:
    expired = viewer_token_mint(user=gp, study=record.hospital_study)
    type(expired.record).objects.filter(pk=expired.record.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=2),
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    revoked = viewer_token_mint(user=gp, study=record.hospital_study)
    viewer_token_revoke(token=revoked.record)

    def decode(value: str) -> dict[str, Any]:
        response = _post(client, DECODE, {"token-key": "token", "token-value": value})
        assert response.status_code == 200
        return dict(response.json())

    unknown = decode("pas-un-jeton")
    assert (unknown["token-type"], unknown["error-code"]) == (None, "unknown")
    for answer, code in ((decode(expired.token), "expired"), (decode(revoked.token), "invalid")):
        assert answer["token-type"] == "viewer-instant-link"
        assert answer["error-code"] == code
        assert (answer["redirect-url"], answer["resources"]) == (None, [])


def test_decode_tells_another_archive_nothing_of_the_study(
    client, gp, record, hospital_archive, clinic_archive
) -> None:
    minted = viewer_token_mint(user=gp, study=record.hospital_study)

    response = _post(
        client, DECODE, {"token-key": "token", "token-value": minted.token}, username="orthanc-icl"
    )

    assert response.json()["resources"] == []
    assert response.json()["redirect-url"] is None


# --- user/get-profile ----------------------------------------------------------------------------


def test_the_profile_of_a_viewer_token_has_no_permission_and_no_label(
    client, gp, hospital_archive, settings
) -> None:
    settings.ACCESS_DECISION_VALIDITY_S = 10
    token = viewer_token_mint(user=gp).token

    response = _post(
        client, PROFILE, {"token-key": "token", "token-value": token, "identifier": None}
    )

    assert response.status_code == 200
    assert response.json() == {
        "name": "Dan Dehors",
        "permissions": [],
        "authorized-labels": [],
        "validity": 10,
    }


def test_the_profile_of_an_unknown_token_is_empty(client, hospital_archive) -> None:
    response = _post(
        client, PROFILE, {"token-key": "token", "token-value": "inconnu", "server-id": "chr"}
    )

    assert response.status_code == 200
    payload = response.json()
    assert (payload["name"], payload["permissions"], payload["authorized-labels"]) == ("", [], [])
    assert payload["validity"] > 0


def test_an_inactive_users_token_is_refused(
    client, patient: User, record, hospital_archive
) -> None:
    token = viewer_token_mint(user=patient).token
    User.objects.filter(pk=patient.pk).update(is_active=False)

    assert not _granted(_post(client, VALIDATE, _study_body(record.hospital_study, token)))
    assert _post(client, PROFILE, {"token-value": token}).json()["name"] == ""


# --- The portal's own requests, forwarded by the plugin ----------------------------------------

# What ArchiveSourceFactory stores as the portal's credentials on the archive.
PORTAL_READER = _basic("portail", "le-mot-de-passe-stocke")


def _as_portal(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "token-key": "Authorization", "token-value": PORTAL_READER}


@pytest.mark.parametrize(
    ("body", "granted"),
    [
        (_body(level="system", token=None, uri="/changes"), True),
        (_body(level="system", token=None, uri="/studies"), True),
        (_body(level="system", token=None, method="post", uri="/tools/lookup"), True),
        (_body(level="system", token=None, method="post", uri="/tools/find"), False),
        (_body(level="study", token=None, orthanc_id=HOSPITAL_STUDY_ID), True),
        (_body(level="series", token=None, orthanc_id="1-2-3"), True),
        (_body(level="system", token=None, method="post", uri="/instances"), False),
        (_body(level="study", token=None, method="delete", orthanc_id=HOSPITAL_STUDY_ID), False),
        (_body(level="study", token=None, method="post", orthanc_id=HOSPITAL_STUDY_ID), False),
    ],
)
def test_the_portals_sync_credentials_read_the_archive_untraced(
    client, record, hospital_archive, body, granted
) -> None:
    assert _granted(_post(client, VALIDATE, _as_portal(body))) is granted
    assert _archive_events() == []


def test_the_portals_reader_profile_views_every_label(client, hospital_archive) -> None:
    response = _post(client, PROFILE, {"token-key": "Authorization", "token-value": PORTAL_READER})

    payload = response.json()
    assert (payload["permissions"], payload["authorized-labels"]) == (["view"], ["*"])


def test_another_archives_or_wrong_sync_credentials_are_no_reader(
    client, record, hospital_archive, clinic_archive
) -> None:
    body = _as_portal(_body(level="system", token=None, uri="/studies"))
    wrong = {**body, "token-value": _basic("portail", "pas-le-bon")}
    other_user = {**body, "token-value": _basic("autre", "le-mot-de-passe-stocke")}

    assert not _granted(_post(client, VALIDATE, wrong))
    assert not _granted(_post(client, VALIDATE, other_user))
    ArchiveSource.objects.filter(pk=clinic_archive.pk).update(username="lecteur-icl")
    # The clinic archive does not know the hospital archive's sync credentials.
    assert not _granted(_post(client, VALIDATE, body, username="orthanc-icl"))
    profile = _post(client, PROFILE, {"token-value": _basic("portail", "pas-le-bon")}).json()
    assert profile["permissions"] == []


# --- Series and instances: the archive is asked for their study, once ----------------------------


@pytest.fixture
def lab_archive(request, hospital) -> tuple[Any, ArchiveSource]:
    """A real Orthanc (the imaging tests' lab) and its source, with callback credentials."""
    lab = request.getfixturevalue("archive_a")
    source = request.getfixturevalue("connect")(lab, hospital)
    ArchiveSource.objects.filter(pk=source.pk).update(
        callback_username=CALLBACK_USER, callback_password_hash=make_password(CALLBACK_PASSWORD)
    )
    return lab, source


def _upload_study(lab: Any, patient_id: str, patient_name: str) -> list[dict[str, str]]:
    study_uid, series_uid = generate_uid(), generate_uid()
    return lab.upload(
        dicom_instance(
            patient_id=patient_id,
            patient_name=patient_name,
            study_uid=study_uid,
            series_uid=series_uid,
        )
        for _ in range(2)
    )


def _main_tags(lab: Any, path: str) -> dict[str, str]:
    response = requests.get(f"{lab.url}{path}", auth=(lab.username, lab.password), timeout=5)
    response.raise_for_status()
    return dict(response.json()["MainDicomTags"])


@pytest.fixture
def parent_study_calls(monkeypatch) -> list[tuple[str, str]]:
    """Every ``parent_study`` question the portal asks an archive."""
    calls: list[tuple[str, str]] = []
    original = OrthancClient.parent_study

    def spy(self: OrthancClient, level: str, resource_id: str) -> dict[str, Any]:
        calls.append((level, resource_id))
        return original(self, level, resource_id)

    monkeypatch.setattr(OrthancClient, "parent_study", spy)
    return calls


def test_series_and_instances_resolve_through_the_archive_once(
    client, gp, radiologist, lab_archive, parent_study_calls
) -> None:
    lab, source = lab_archive
    granted_upload = _upload_study(lab, "IPP-LAB-1", "MARTIN^Paul")
    other_upload = _upload_study(lab, "IPP-LAB-2", "BERNARD^Lucie")
    lab.wait_stable([granted_upload[0]["ParentStudy"], other_upload[0]["ParentStudy"]])
    source_sync(source=source)
    study = ImagingStudy.objects.get(source=source, archive_id=granted_upload[0]["ParentStudy"])
    other = ImagingStudy.objects.get(source=source, archive_id=other_upload[0]["ParentStudy"])
    grant_to(gp, study.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    first, second = granted_upload
    series_uid = _main_tags(lab, f"/series/{first['ParentSeries']}")["SeriesInstanceUID"]

    def series_body(upload: dict[str, str], uid: str | None) -> dict[str, Any]:
        return _body(level="series", token=token, orthanc_id=upload["ParentSeries"], dicom_uid=uid)

    def instance_body(upload: dict[str, str]) -> dict[str, Any]:
        uid = _main_tags(lab, f"/instances/{upload['ID']}")["SOPInstanceUID"]
        return _body(level="instance", token=token, orthanc_id=upload["ID"], dicom_uid=uid)

    assert _granted(_post(client, VALIDATE, series_body(first, series_uid)))
    assert _granted(_post(client, VALIDATE, series_body(first, series_uid)))  # cached
    assert _granted(_post(client, VALIDATE, instance_body(first)))
    assert _granted(_post(client, VALIDATE, instance_body(second)))
    assert _granted(_post(client, VALIDATE, instance_body(first)))  # cached
    assert not _granted(_post(client, VALIDATE, instance_body(other_upload[0])))

    assert parent_study_calls == [
        ("series", first["ParentSeries"]),
        ("instances", first["ID"]),
        ("instances", second["ID"]),
        ("instances", other_upload[0]["ID"]),
    ]
    events = _archive_events()
    assert [(event.study_id, event.granted) for event in events] == [
        (study.pk, True),
        (study.pk, True),
        (study.pk, True),
        (study.pk, True),
        (study.pk, True),
        (other.pk, False),
    ]
    assert {event.actor_id for event in events} == {gp.pk}
    assert {event.patient_id for event in events} == {study.patient_id, other.patient_id}


def test_a_series_named_by_its_uid_alone_is_looked_up_in_the_archive(client, lab_archive) -> None:
    lab, source = lab_archive
    upload = _upload_study(lab, "IPP-LAB-3", "PETIT^Jeanne")
    lab.wait_stable([upload[0]["ParentStudy"]])
    source_sync(source=source)
    study = ImagingStudy.objects.select_related("patient").get(
        source=source, archive_id=upload[0]["ParentStudy"]
    )
    patient = UserFactory(email="jeanne.petit@patient.test")
    Patient.objects.filter(pk=study.patient_id).update(user=patient)
    token = viewer_token_mint(user=patient).token
    series_uid = _main_tags(lab, f"/series/{upload[0]['ParentSeries']}")["SeriesInstanceUID"]

    body = _body(level="series", token=token, dicom_uid=series_uid)

    assert _granted(_post(client, VALIDATE, body))
    assert _archive_events()[-1].rule == Rule.PATIENT_SELF


def test_an_unknown_series_is_refused_and_the_archive_asked_once_for_a_while(
    client, patient, lab_archive, parent_study_calls
) -> None:
    token = viewer_token_mint(user=patient).token
    body = _body(
        level="series", token=token, orthanc_id="11111111-11111111-11111111-11111111-11111111"
    )

    assert not _granted(_post(client, VALIDATE, body))
    assert not _granted(_post(client, VALIDATE, body))
    assert len(parent_study_calls) == 1
    assert _archive_events() == []


def test_an_unreachable_archive_means_refused_not_an_error(
    client, patient, record, hospital_archive
) -> None:
    # The factory's archive listens nowhere.
    token = viewer_token_mint(user=patient).token
    body = _body(
        level="instance", token=token, orthanc_id="22222222-22222222-22222222-22222222-22222222"
    )

    assert not _granted(_post(client, VALIDATE, body))
