"""The access API: grants (list, create, revoke), emergency accesses (open after confirming
one's identity, list one's own, the auditors' review) and the access trail for auditors, each
with its refusals."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from access.decision import decide
from access.models import AccessGrant, BreakGlassAccess
from audit.models import AccessEvent, Action, Channel, Rule
from portal.roles import Role
from portal.services import user_grant_group_role
from tests.access.conftest import break_glass, grant_to, oppose
from tests.billing.helpers import mark_recently_authenticated
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/grants/"
BREAK_GLASS = "/api/v1/break-glass/"
REVIEW_QUEUE = "/api/v1/break-glass/review-queue/"
EVENTS = "/api/v1/audit-events/"
JUSTIFICATION = "Patient inconscient aux urgences, bilan d'un traumatisme crânien grave."


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _revoke(grant: AccessGrant) -> str:
    return f"{GRANTS}{grant.pk}/revoke/"


def _review(access: BreakGlassAccess) -> str:
    return f"{BREAK_GLASS}{access.pk}/review/"


def _in_days(days: float) -> str:
    return (timezone.now() + datetime.timedelta(days=days)).isoformat()


def _sees(user, patient) -> tuple[bool, str]:
    decision = decide(user=user, patient=patient, action=Action.READ, channel=Channel.API)
    return decision.granted, decision.reason


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def colleague(hospital):
    """Another accredited practitioner of the network, with no link to the patient."""
    user = UserFactory(email="dr.eve@cabinet.test", first_name="Ève", last_name="Ailleurs")
    AccreditationFactory(practitioner=PractitionerFactory(user=user))
    enrol_totp(user)
    return user


# --- Listing grants ----------------------------------------------------------------------------


def test_it_lists_a_grant_to_its_giver_and_its_holder(radiologist, gp, record, hospital) -> None:
    grant = grant_to(gp, record.patient, by=radiologist, establishment=hospital, comment="Suivi")
    for user in (radiologist, gp):
        rows = _api(user).get(GRANTS).json()["results"]
        assert [row["id"] for row in rows] == [grant.pk]
    row = rows[0]
    assert row["patient"] == record.patient.pk
    assert row["practitioner"] == {
        "id": gp.practitioner.pk,
        "rpps": gp.practitioner.rpps,
        "name": "Dan Dehors",
    }
    assert row["establishment"]["finess_eg"] == hospital.finess_eg
    assert row["granted_by"] == "Charlie Radiologue"
    assert (row["reason"], row["comment"], row["active"]) == ("referral", "Suivi", True)
    assert row["revoked_at"] is None
    # Patients appear by id only in grant listings: no name, no INS.
    assert "DURAND" not in str(row)


def test_it_does_not_list_a_grant_to_others(radiologist, gp, colleague, auditor, record) -> None:
    grant_to(gp, record.patient, by=radiologist)
    for user in (colleague, auditor):
        assert _api(user).get(GRANTS).json()["results"] == []


def test_the_patient_sees_the_grants_on_their_record(radiologist, gp, patient, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    assert _ids(_api(patient).get(GRANTS)) == [grant.pk]


def test_a_manager_lists_every_grant_on_a_patient(
    radiologist, referent, gp, colleague, record
) -> None:
    given = grant_to(gp, record.patient, by=radiologist)
    other = grant_to(colleague, record.patient, by=radiologist, days=10)
    # The referent gave neither, but manages the patient's grants (hospital's referent).
    assert _api(referent).get(GRANTS).json()["results"] == []
    listed = _ids(_api(referent).get(GRANTS, {"patient": record.patient.pk}))
    assert set(listed) == {given.pk, other.pk}


def test_a_holder_filtering_on_a_patient_sees_only_their_own_grant(
    radiologist, gp, colleague, record
) -> None:
    mine = grant_to(gp, record.patient, by=radiologist)
    grant_to(colleague, record.patient, by=radiologist)
    assert _ids(_api(gp).get(GRANTS, {"patient": record.patient.pk})) == [mine.pk]


def test_the_patient_filter_does_not_tell_whether_a_patient_exists(
    radiologist, gp, colleague, record
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    client = _api(colleague)
    known = client.get(GRANTS, {"patient": record.patient.pk})
    unknown = client.get(GRANTS, {"patient": record.patient.pk + 1000})
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()


def test_a_malformed_patient_filter_is_a_400_on_its_name(gp) -> None:
    response = _api(gp).get(GRANTS, {"patient": "DURAND"})
    assert response.status_code == 400
    assert set(response.json()) == {"patient"}


def test_anonymous_callers_get_403_on_grants(client) -> None:
    assert client.get(GRANTS).status_code == 403
    assert client.post(GRANTS, {}, content_type="application/json").status_code == 403


def test_the_grant_list_runs_a_bounded_number_of_queries(
    radiologist, record, django_assert_max_num_queries
) -> None:
    for number in range(5):
        user = UserFactory(email=f"dr.{number}@cabinet.test")
        AccreditationFactory(practitioner=PractitionerFactory(user=user))
        grant_to(user, record.patient, by=radiologist)
    client = _api(radiologist)
    client.get(GRANTS)
    # Session, user, roles, MFA, then the count and the page (joins): not one per grant.
    with django_assert_max_num_queries(12):
        assert len(client.get(GRANTS).json()["results"]) == 5


# --- Creating grants ---------------------------------------------------------------------------


def _grant_payload(gp, record, **overrides) -> dict:
    payload = {
        "patient": record.patient.pk,
        "practitioner": gp.practitioner.rpps,
        "reason": "referral",
        "valid_until": _in_days(30),
        "comment": "Adressé pour avis.",
    }
    payload.update(overrides)
    return payload


def test_care_team_staff_share_a_patient_with_a_city_gp(
    radiologist, gp, record, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    assert _sees(gp, record.patient) == (False, Rule.NO_RIGHT)
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(radiologist).post(GRANTS, _grant_payload(gp, record), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["practitioner"]["rpps"] == gp.practitioner.rpps
    assert data["establishment"]["id"] == hospital.pk
    assert (data["granted_by"], data["active"]) == ("Charlie Radiologue", True)
    assert _sees(gp, record.patient) == (True, Rule.GRANT)
    assert [message.to for message in mailoutbox] == [[gp.email]]


def test_a_practitioner_may_be_named_by_internal_id(referent, gp, record) -> None:
    payload = _grant_payload(gp, record, practitioner=gp.practitioner.pk)
    response = _api(referent).post(GRANTS, payload, format="json")
    assert response.status_code == 201, response.json()
    assert AccessGrant.objects.get().practitioner == gp.practitioner


def test_the_patient_gives_access_by_their_own_choice(patient, gp, record) -> None:
    payload = _grant_payload(gp, record, reason="patient_choice")
    response = _api(patient).post(GRANTS, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["establishment"] is None
    assert _sees(gp, record.patient) == (True, Rule.GRANT)


def test_someone_outside_the_producing_teams_cannot_share_the_patient(
    gp, colleague, record
) -> None:
    client = _api(colleague)
    refused = client.post(GRANTS, _grant_payload(gp, record), format="json")
    unknown = client.post(
        GRANTS, _grant_payload(gp, record, patient=record.patient.pk + 1000), format="json"
    )
    assert refused.status_code == unknown.status_code == 400
    # The same answer for a patient one may not share and for one that does not exist.
    assert refused.json() == unknown.json()
    assert set(refused.json()) == {"patient"}
    assert not AccessGrant.objects.exists()
    assert _sees(gp, record.patient) == (False, Rule.NO_RIGHT)


@pytest.mark.parametrize("who", ["auditor", "regional_admin", "director"])
def test_roles_that_never_share_get_403_on_create(request, who, gp, record) -> None:
    user = request.getfixturevalue(who)
    response = _api(user).post(GRANTS, _grant_payload(gp, record), format="json")
    assert response.status_code == 403
    assert not AccessGrant.objects.exists()


def test_a_grant_needs_its_fields(radiologist) -> None:
    response = _api(radiologist).post(GRANTS, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"patient", "practitioner", "reason", "valid_until"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"practitioner": "10000000000"}, "practitioner"),
        ({"practitioner": "Dehors"}, "practitioner"),
        ({"reason": "curiosity"}, "reason"),
        ({"reason": "patient_choice"}, "reason"),
        ({"valid_until": "demain"}, "valid_until"),
    ],
)
def test_it_answers_400_on_the_wrong_field(radiologist, gp, record, overrides, field) -> None:
    response = _api(radiologist).post(
        GRANTS, _grant_payload(gp, record, **overrides), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not AccessGrant.objects.exists()


def test_it_refuses_a_past_or_too_long_validity(radiologist, gp, record, settings) -> None:
    client = _api(radiologist)
    for valid_until in (_in_days(-1), _in_days(settings.ACCESS_GRANT_MAX_DAYS + 1)):
        payload = _grant_payload(gp, record, valid_until=valid_until)
        response = client.post(GRANTS, payload, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"valid_until"}


def test_it_refuses_a_practitioner_without_accreditation(radiologist, record) -> None:
    unaccredited = PractitionerFactory()
    payload = {
        "patient": record.patient.pk,
        "practitioner": unaccredited.rpps,
        "reason": "referral",
        "valid_until": _in_days(30),
    }
    response = _api(radiologist).post(GRANTS, payload, format="json")
    assert response.status_code == 400
    assert "habilitation" in response.json()["practitioner"][0]


def test_it_refuses_to_share_on_behalf_of_another_establishment(
    radiologist, gp, record, clinic
) -> None:
    payload = _grant_payload(gp, record, establishment=clinic.pk)
    response = _api(radiologist).post(GRANTS, payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"establishment"}


def test_it_refuses_a_second_grant_and_a_grant_despite_opposition(
    radiologist, referent, gp, record
) -> None:
    client = _api(radiologist)
    assert client.post(GRANTS, _grant_payload(gp, record), format="json").status_code == 201
    again = client.post(GRANTS, _grant_payload(gp, record), format="json")
    assert again.status_code == 400
    assert "déjà accès" in again.json()["non_field_errors"][0]

    AccessGrant.objects.all().delete()
    oppose(record.patient, by=referent)
    opposed = client.post(GRANTS, _grant_payload(gp, record), format="json")
    assert opposed.status_code == 400
    assert "s'oppose" in opposed.json()["non_field_errors"][0]
    assert not AccessGrant.objects.exists()


# --- Revoking grants ---------------------------------------------------------------------------


def test_revoking_a_grant_takes_effect_on_the_next_decision(radiologist, gp, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    assert _sees(gp, record.patient) == (True, Rule.GRANT)
    response = _api(radiologist).post(_revoke(grant), {"reason": "Fin du suivi"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["active"] is False
    assert (data["revoked_by"], data["revocation_reason"]) == ("Charlie Radiologue", "Fin du suivi")
    assert data["revoked_at"] is not None
    assert _sees(gp, record.patient) == (False, Rule.NO_RIGHT)


def test_a_referent_of_the_producing_establishment_revokes_a_colleagues_grant(
    radiologist, referent, gp, record
) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    assert _api(referent).post(_revoke(grant), format="json").status_code == 200
    assert _sees(gp, record.patient) == (False, Rule.NO_RIGHT)


def test_the_holder_sees_but_cannot_revoke_their_grant(radiologist, gp, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    assert _api(gp).post(_revoke(grant), format="json").status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert _sees(gp, record.patient) == (True, Rule.GRANT)


@pytest.mark.parametrize("who", ["colleague", "auditor", "regional_admin"])
def test_a_grant_out_of_sight_answers_404(request, who, radiologist, gp, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    user = request.getfixturevalue(who)
    assert _api(user).post(_revoke(grant), format="json").status_code == 404
    assert _api(user).post(f"{GRANTS}{grant.pk + 1000}/revoke/").status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_revoking_twice_is_a_conflict(radiologist, gp, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    client = _api(radiologist)
    assert client.post(_revoke(grant), format="json").status_code == 200
    again = client.post(_revoke(grant), format="json")
    assert again.status_code == 409
    assert again.json()["detail"] == "Cet accès est déjà révoqué."


# --- Emergency access --------------------------------------------------------------------------


def _break_glass_payload(record, **overrides) -> dict:
    payload = {
        "patient": record.patient.pk,
        "category": "life_threatening",
        "justification": JUSTIFICATION,
    }
    payload.update(overrides)
    return payload


def _confirmed(user) -> APIClient:
    client = _api(user)
    mark_recently_authenticated(client, user)
    return client


def test_break_glass_needs_a_recent_confirmation_of_identity(gp, record) -> None:
    response = _api(gp).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 403
    assert "Confirmez votre identité" in response.json()["detail"]
    assert response.json()["reauthenticate_url"] == "/accounts/reauthenticate/"
    assert not BreakGlassAccess.objects.exists()
    assert _sees(gp, record.patient) == (False, Rule.NO_RIGHT)


def test_a_practitioner_who_confirmed_opens_a_flagged_emergency_access(
    gp, auditor, record, settings, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirmed(gp).post(
            BREAK_GLASS, _break_glass_payload(record), format="json", REMOTE_ADDR="10.1.2.3"
        )
    assert response.status_code == 201, response.json()
    data = response.json()
    access = BreakGlassAccess.objects.get()
    assert set(data) == {"id", "patient", "category", "opened_at", "expires_at"}
    assert (data["id"], data["patient"], data["category"]) == (
        access.pk,
        record.patient.pk,
        "life_threatening",
    )
    assert access.expires_at - access.opened_at == datetime.timedelta(
        seconds=settings.BREAK_GLASS_DURATION_S
    )
    assert access.source_ip == "10.1.2.3"
    decision = decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.API)
    assert (decision.granted, decision.reason, decision.flagged) == (True, Rule.BREAK_GLASS, True)
    assert [message.to for message in mailoutbox] == [[auditor.email]]


@override_settings(ACCOUNT_REAUTHENTICATION_TIMEOUT=0)
def test_an_old_confirmation_of_identity_no_longer_counts(gp, record) -> None:
    response = _confirmed(gp).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 403
    assert "reauthenticate_url" in response.json()
    assert not BreakGlassAccess.objects.exists()


@override_settings(PORTAL_MFA_ENFORCED=False)
def test_break_glass_needs_a_second_factor_even_where_it_is_not_enforced(hospital, record) -> None:
    user = UserFactory(email="dr.sans.mfa@cabinet.test")
    AccreditationFactory(practitioner=PractitionerFactory(user=user))
    response = _confirmed(user).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 403
    assert "double authentification" in response.json()["detail"]
    assert response.json()["mfa_url"] == "/accounts/2fa/"
    assert not BreakGlassAccess.objects.exists()


@override_settings(PORTAL_DEMO=True, PORTAL_MFA_ENFORCED=False)
def test_the_demonstration_needs_no_second_factor(record) -> None:
    user = UserFactory(email="dr.demo@cabinet.test")
    AccreditationFactory(practitioner=PractitionerFactory(user=user))
    response = _confirmed(user).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("who", ["referent", "auditor", "patient"])
def test_only_accredited_practitioners_break_the_glass(request, who, record) -> None:
    user = request.getfixturevalue(who)
    response = _confirmed(user).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 403
    assert not BreakGlassAccess.objects.exists()


def test_anonymous_callers_get_403_on_break_glass(client, record) -> None:
    response = client.post(
        BREAK_GLASS, _break_glass_payload(record), content_type="application/json"
    )
    assert response.status_code == 403
    assert client.get(BREAK_GLASS).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"justification": "Urgence."}, "justification"),
        ({"justification": ""}, "justification"),
        ({"category": "curiosity"}, "category"),
        ({"patient": 987654}, "patient"),
        ({"patient": "DURAND"}, "patient"),
    ],
)
def test_break_glass_answers_400_on_the_wrong_field(gp, record, overrides, field) -> None:
    payload = _break_glass_payload(record, **overrides)
    response = _confirmed(gp).post(BREAK_GLASS, payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not BreakGlassAccess.objects.exists()


def test_the_justification_error_says_the_minimum_length(gp, record, settings) -> None:
    payload = _break_glass_payload(record, justification="Urgence.")
    errors = _confirmed(gp).post(BREAK_GLASS, payload, format="json").json()
    assert str(settings.BREAK_GLASS_JUSTIFICATION_MIN_LENGTH) in errors["justification"][0]


def test_opposition_refuses_break_glass(gp, referent, record) -> None:
    oppose(record.patient, by=referent)
    response = _confirmed(gp).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 400
    assert "s'oppose" in response.json()["non_field_errors"][0]
    assert not BreakGlassAccess.objects.exists()


@pytest.mark.parametrize("who", ["radiologist", "granted_gp"])
def test_break_glass_is_refused_to_whoever_already_has_a_right(
    request, who, gp, radiologist, record
) -> None:
    if who == "granted_gp":
        grant_to(gp, record.patient, by=radiologist)
    user = gp if who == "granted_gp" else radiologist
    response = _confirmed(user).post(BREAK_GLASS, _break_glass_payload(record), format="json")
    assert response.status_code == 400
    assert "déjà accès" in response.json()["patient"][0]
    assert not BreakGlassAccess.objects.exists()


def test_practitioners_list_only_their_own_emergency_accesses(
    gp, colleague, auditor, record
) -> None:
    mine = break_glass(gp, record.patient)
    break_glass(colleague, record.patient)
    rows = _api(gp).get(BREAK_GLASS).json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert (rows[0]["active"], rows[0]["review"]) == (True, "pending")
    assert _api(auditor).get(BREAK_GLASS).json()["results"] == []


# --- The auditors' review ----------------------------------------------------------------------


def test_auditors_read_the_review_queue(auditor, gp, colleague, record) -> None:
    pending = break_glass(gp, record.patient)
    reviewed = break_glass(colleague, record.patient)
    reviewed.review = BreakGlassAccess.Review.JUSTIFIED
    reviewed.save()
    client = _api(auditor)
    assert _ids(client.get(REVIEW_QUEUE)) == [pending.pk, reviewed.pk]
    rows = client.get(REVIEW_QUEUE, {"review": "pending"}).json()["results"]
    assert [row["id"] for row in rows] == [pending.pk]
    assert rows[0]["practitioner"]["rpps"] == gp.practitioner.rpps
    assert rows[0]["user"] == "Dan Dehors"
    assert rows[0]["justification"].startswith("Patient inconscient")


def test_a_malformed_review_filter_is_a_400_on_its_name(auditor) -> None:
    response = _api(auditor).get(REVIEW_QUEUE, {"review": "maybe"})
    assert response.status_code == 400
    assert set(response.json()) == {"review"}


@pytest.mark.parametrize("who", ["gp", "regional_admin", "referent", "patient"])
def test_only_auditors_see_the_review_queue(request, who, record) -> None:
    break_glass(request.getfixturevalue("gp"), record.patient)
    assert _api(request.getfixturevalue(who)).get(REVIEW_QUEUE).status_code == 403


def test_an_auditor_marks_an_emergency_access_justified(auditor, gp, record) -> None:
    access = break_glass(gp, record.patient)
    payload = {"justified": True, "comment": "Admission aux urgences confirmée."}
    response = _api(auditor).post(_review(access), payload, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["review"], data["reviewed_by"]) == ("justified", "Olivier Audit")
    assert data["review_comment"] == "Admission aux urgences confirmée."
    access.refresh_from_db()
    assert (access.review, access.reviewed_by) == ("justified", auditor)


def test_a_second_review_is_a_conflict(auditor, gp, record) -> None:
    access = break_glass(gp, record.patient)
    client = _api(auditor)
    first = client.post(_review(access), {"justified": False, "comment": "Non."}, format="json")
    assert first.json()["review"] == "unjustified"
    again = client.post(_review(access), {"justified": True, "comment": "Si."}, format="json")
    assert again.status_code == 409
    access.refresh_from_db()
    assert access.review == "unjustified"


def test_a_review_needs_a_verdict_and_a_comment(auditor, gp, record) -> None:
    access = break_glass(gp, record.patient)
    client = _api(auditor)
    missing = client.post(_review(access), {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()) == {"justified", "comment"}
    blank = client.post(_review(access), {"justified": True, "comment": " "}, format="json")
    assert blank.status_code == 400
    assert set(blank.json()) == {"comment"}
    access.refresh_from_db()
    assert access.review == "pending"


@pytest.mark.parametrize("who", ["gp", "regional_admin", "referent"])
def test_only_auditors_review(request, who, record) -> None:
    access = break_glass(request.getfixturevalue("gp"), record.patient)
    payload = {"justified": True, "comment": "Vu."}
    response = _api(request.getfixturevalue(who)).post(_review(access), payload, format="json")
    assert response.status_code == 403
    access.refresh_from_db()
    assert access.review == "pending"


def test_an_auditor_cannot_review_their_own_emergency_access(gp, record) -> None:
    user_grant_group_role(user=gp, role=Role.AUDITOR)
    access = break_glass(gp, record.patient)
    response = _api(gp).post(_review(access), {"justified": True, "comment": "Vu."}, format="json")
    assert response.status_code == 403
    assert "propre" in response.json()["detail"]


def test_an_unknown_emergency_access_answers_404_to_an_auditor(auditor) -> None:
    response = _api(auditor).post(f"{BREAK_GLASS}987654/review/", {}, format="json")
    assert response.status_code == 404


# --- The access trail --------------------------------------------------------------------------


@pytest.fixture
def trail(radiologist, gp, record):
    """Three decisions: the radiologist (granted, care team), the GP refused, then the GP
    granted through a grant."""
    decide(user=radiologist, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.API)
    grant_to(gp, record.patient, by=radiologist)
    decide(user=gp, patient=record.patient, action=Action.LIST, channel=Channel.WEB)
    return list(AccessEvent.objects.order_by("-recorded_at", "-id"))


def test_auditors_read_the_trail_newest_first_with_its_chain(auditor, trail) -> None:
    rows = _api(auditor).get(EVENTS).json()["results"]
    assert [row["id"] for row in rows] == [event.pk for event in trail]
    newest, previous = rows[0], rows[1]
    assert (newest["granted"], newest["rule"], newest["channel"]) == (True, "grant", "web")
    assert newest["actor_label"] == "dr.dan@cabinet.test"
    assert newest["chain_seq"] == previous["chain_seq"] + 1
    assert newest["prev_hash"] == previous["hash"]
    assert len(newest["hash"]) == 64
    assert {"actor_role", "patient_id", "study_id", "purpose", "grant_id"} <= set(newest)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"granted": "false"}, [1]),
        ({"granted": "true"}, [0, 2]),
        ({"rule": "care_team"}, [2]),
        ({"channel": "api"}, [1]),
    ],
)
def test_auditors_filter_the_trail(auditor, trail, filters, expected) -> None:
    assert _ids(_api(auditor).get(EVENTS, filters)) == [trail[i].pk for i in expected]


def test_auditors_filter_the_trail_by_patient_actor_and_establishment(
    auditor, trail, gp, radiologist, record, hospital
) -> None:
    client = _api(auditor)
    assert len(_ids(client.get(EVENTS, {"patient": record.patient.pk}))) == 3
    assert _ids(client.get(EVENTS, {"patient": record.patient.pk + 1000})) == []
    assert _ids(client.get(EVENTS, {"actor": radiologist.pk})) == [trail[2].pk]
    assert _ids(client.get(EVENTS, {"establishment": hospital.pk + 1000})) == []


def test_auditors_filter_the_trail_by_period(auditor, trail) -> None:
    oldest, newest = trail[-1], trail[0]
    client = _api(auditor)
    since = client.get(EVENTS, {"since": newest.recorded_at.isoformat()})
    assert _ids(since) == [newest.pk]
    until = client.get(EVENTS, {"until": newest.recorded_at.isoformat()})
    assert newest.pk not in _ids(until)
    assert oldest.pk in _ids(until)
    later = (newest.recorded_at + datetime.timedelta(hours=1)).isoformat()
    assert _ids(client.get(EVENTS, {"since": later})) == []


def test_the_trail_is_paged_by_cursor(auditor, trail) -> None:
    client = _api(auditor)
    first = client.get(EVENTS, {"page_size": 2}).json()
    assert "count" not in first
    second = client.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == [e.pk for e in trail]
    assert second["next"] is None


@pytest.mark.parametrize(
    "filters",
    [
        {"patient": "DURAND"},
        {"actor": "-3"},
        {"establishment": "x"},
        {"since": "hier"},
        {"until": "2026-13-45"},
        {"granted": "peut-être"},
        {"rule": "friendship"},
        {"channel": "fax"},
    ],
)
def test_a_malformed_trail_filter_is_a_400_on_its_name(auditor, filters) -> None:
    response = _api(auditor).get(EVENTS, filters)
    assert response.status_code == 400
    assert set(response.json()) == set(filters)


def test_a_period_ending_before_it_starts_is_a_400(auditor) -> None:
    response = _api(auditor).get(
        EVENTS, {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"until"}


@pytest.mark.parametrize(
    "who", ["regional_admin", "director", "referent", "radiologist", "gp", "patient"]
)
def test_only_auditors_read_the_trail(request, who, trail) -> None:
    assert _api(request.getfixturevalue(who)).get(EVENTS).status_code == 403


def test_anonymous_callers_get_403_on_the_trail(client) -> None:
    assert client.get(EVENTS).status_code == 403


def test_the_trail_runs_a_bounded_number_of_queries(
    auditor, gp, record, django_assert_max_num_queries
) -> None:
    for _ in range(20):
        decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.API)
    client = _api(auditor)
    client.get(EVENTS)
    # User, roles (group and one per resolver), MFA, the page (no count, nothing per row),
    # and the session's renewal.
    with django_assert_max_num_queries(10):
        assert len(client.get(EVENTS).json()["results"]) == 20


# --- Schema ------------------------------------------------------------------------------------


def test_the_schema_documents_the_access_endpoints(auditor) -> None:
    schema = _api(auditor).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/grants/"]) >= {"get", "post"}
    assert "post" in paths["/api/v1/grants/{id}/revoke/"]
    assert set(paths["/api/v1/break-glass/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/break-glass/review-queue/"]
    assert "post" in paths["/api/v1/break-glass/{id}/review/"]
    parameters = {p["name"] for p in paths["/api/v1/audit-events/"]["get"]["parameters"]}
    assert {"patient", "actor", "establishment", "since", "until", "granted", "rule"} <= parameters
    assert {"channel", "cursor"} <= parameters


def test_the_schema_generates_without_warnings(tmp_path) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
