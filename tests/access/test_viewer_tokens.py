"""Viewer tokens: minting through the API (only for a study the caller may see), storage of
the hash alone, lifetime, revocation by the owner."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from access.token_models import ViewerToken
from access.tokens import (
    TokenState,
    token_value_clean,
    viewer_token_find,
    viewer_token_mint,
)
from audit.models import AccessEvent, Channel, Rule
from imaging.models import ArchiveSource, ImagingStudy
from tests.access.conftest import Record, grant_to, oppose
from tests.imaging.factories import ArchiveSourceFactory

pytestmark = pytest.mark.django_db

VIEWER_URL = (
    "https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs={study_instance_uid}&token={token}"
)


@pytest.fixture
def hospital_archive(record: Record, hospital: Any) -> ArchiveSource:
    source = ArchiveSourceFactory(establishment=hospital, viewer_url=VIEWER_URL)
    ImagingStudy.objects.filter(pk=record.hospital_study.pk).update(source=source)
    record.hospital_study.refresh_from_db()
    return source


def _mint(client: Any, **body: Any) -> Any:
    return client.post(
        reverse("access-api-viewer-token-list"),
        data=json.dumps(body),
        content_type="application/json",
    )


def _revoke(client: Any, pk: int) -> Any:
    return client.post(reverse("access-api-viewer-token-revoke", args=[pk]))


def test_a_practitioner_with_a_grant_gets_a_token_and_the_viewer_address(
    client_for, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    uid = record.hospital_study.study_instance_uid
    before = timezone.now()

    response = _mint(client_for(gp), study_instance_uid=uid)

    assert response.status_code == 201, response.content
    payload = response.json()
    token = payload["token"]
    assert len(token) >= 43
    assert payload["url"] == (
        f"https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs={uid}&token={token}"
    )
    expires_at = datetime.datetime.fromisoformat(payload["expires_at"])
    assert before + datetime.timedelta(minutes=59) < expires_at
    assert expires_at <= timezone.now() + datetime.timedelta(hours=1)
    stored = ViewerToken.objects.get(pk=payload["id"])
    assert (stored.user_id, stored.study_id) == (gp.pk, record.hospital_study.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(ViewerToken.objects.values()), default=str)
    [event] = AccessEvent.objects.filter(channel=Channel.API)
    assert (event.actor_id, event.study_id, event.granted) == (
        gp.pk,
        record.hospital_study.pk,
        True,
    )


def test_a_practitioner_without_a_right_gets_404_like_an_unknown_study(
    client_for, gp, record, hospital_archive
) -> None:
    client = client_for(gp)

    refused = _mint(client, study_instance_uid=record.hospital_study.study_instance_uid)
    unknown = _mint(client, study_instance_uid="1.2.250.1.999.1")

    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == unknown.json()
    assert not ViewerToken.objects.exists()
    [event] = AccessEvent.objects.filter(channel=Channel.API)
    assert (event.actor_id, event.granted, event.rule) == (gp.pk, False, Rule.NO_RIGHT)


def test_the_patients_opposition_refuses_a_granted_practitioner_a_token(
    client_for, gp, radiologist, record, hospital_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    oppose(record.patient, by=radiologist)

    response = _mint(client_for(gp), study_instance_uid=record.hospital_study.study_instance_uid)

    assert response.status_code == 404
    assert not ViewerToken.objects.exists()


def test_the_care_team_gets_a_token_for_its_establishments_study(
    client_for, radiologist, record, hospital_archive
) -> None:
    response = _mint(
        client_for(radiologist), study_instance_uid=record.hospital_study.study_instance_uid
    )

    assert response.status_code == 201


def test_a_patient_gets_a_token_for_their_own_study(
    client_for, patient, record, hospital_archive
) -> None:
    response = _mint(
        client_for(patient), study_instance_uid=record.hospital_study.study_instance_uid
    )

    assert response.status_code == 201
    assert ViewerToken.objects.get().user_id == patient.pk


def test_a_token_without_a_study_has_no_address(client_for, gp) -> None:
    response = _mint(client_for(gp))

    assert response.status_code == 201
    assert response.json()["url"] is None
    assert ViewerToken.objects.get().study_id is None


def test_an_archive_without_a_viewer_gives_no_address(
    client_for, patient, record, hospital_archive
) -> None:
    ArchiveSource.objects.filter(pk=hospital_archive.pk).update(viewer_url="")

    response = _mint(
        client_for(patient), study_instance_uid=record.hospital_study.study_instance_uid
    )

    assert response.status_code == 201
    assert response.json()["url"] is None


def test_a_malformed_study_uid_gets_400_in_french(client_for, gp) -> None:
    response = _mint(client_for(gp), study_instance_uid="1.2.<script>")

    assert response.status_code == 400
    assert "chiffres et des points" in response.json()["study_instance_uid"][0]


def test_anonymous_visitors_and_other_roles_are_refused(client, client_for, referent) -> None:
    assert _mint(client).status_code == 403
    assert _mint(client_for(referent)).status_code == 403
    assert not ViewerToken.objects.exists()


def test_the_lifetime_follows_the_setting(client_for, gp, settings) -> None:
    settings.VIEWER_TOKEN_LIFETIME_S = 120

    response = _mint(client_for(gp))

    token = ViewerToken.objects.get(pk=response.json()["id"])
    assert (token.expires_at - token.created_at).total_seconds() == 120


def test_the_owner_revokes_their_token_once(client_for, gp) -> None:
    minted = viewer_token_mint(user=gp)
    client = client_for(gp)

    response = _revoke(client, minted.record.pk)

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert viewer_token_find(raw=minted.token)[1] == TokenState.REVOKED
    again = _revoke(client, minted.record.pk)
    assert again.status_code == 409
    assert "déjà révoqué" in again.json()["detail"]


def test_someone_elses_token_cannot_be_revoked(client_for, gp, radiologist) -> None:
    minted = viewer_token_mint(user=gp)

    assert _revoke(client_for(radiologist), minted.record.pk).status_code == 404
    assert viewer_token_find(raw=minted.token)[1] == TokenState.VALID


def test_an_anonymous_visitor_cannot_revoke(client, gp) -> None:
    minted = viewer_token_mint(user=gp)

    assert _revoke(client, minted.record.pk).status_code == 403
    assert viewer_token_find(raw=minted.token)[1] == TokenState.VALID


def test_tokens_are_found_by_value_bare_or_as_bearer(gp) -> None:
    minted = viewer_token_mint(user=gp)

    assert viewer_token_find(raw=minted.token) == (minted.record, TokenState.VALID)
    assert viewer_token_find(raw=f"Bearer {minted.token}")[1] == TokenState.VALID
    assert viewer_token_find(raw=f"bearer  {minted.token} ")[1] == TokenState.VALID
    assert viewer_token_find(raw=minted.token[:-1])[1] == TokenState.UNKNOWN
    assert viewer_token_find(raw="x" * 500)[1] == TokenState.UNKNOWN
    assert token_value_clean("Basic abc") == "Basic abc"


def test_two_tokens_are_never_the_same(gp) -> None:
    tokens = {viewer_token_mint(user=gp).token for _ in range(20)}

    assert len(tokens) == 20


def test_an_expired_token_is_reported_expired(gp) -> None:
    minted = viewer_token_mint(user=gp, lifetime_s=60)

    later = timezone.now() + datetime.timedelta(seconds=61)

    assert viewer_token_find(raw=minted.token, at=later)[1] == TokenState.EXPIRED


def test_the_schema_documents_the_viewer_token_endpoints(tmp_path) -> None:
    schema_file = tmp_path / "schema.json"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(schema_file),
    )

    paths = json.loads(schema_file.read_text())["paths"]
    assert "post" in paths["/api/v1/viewer-tokens/"]
    assert "post" in paths["/api/v1/viewer-tokens/{id}/revoke/"]
