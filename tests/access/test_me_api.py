"""The patient API under /api/v1/me/: my studies (traced on the API channel), who looked at
them and the emergency-access notice, my grants and my opposition taking effect at once on what
practitioners see, the practitioner directory; each with its denied twin (signed out, no
patient record, another patient's ids) and bounded queries on the lists."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.decision import decide
from access.models import AccessGrant, Opposition
from audit.models import AccessEvent, Action, Channel, Rule
from portal.models import User
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory
from tests.imaging.factories import (
    ArchiveSourceFactory,
    ImagingStudyFactory,
)
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
STUDIES = f"{ME}studies/"
HISTORY = f"{ME}access-history/"
GRANTS = f"{ME}grants/"
OPPOSITION = f"{ME}opposition/"
PRACTITIONERS = f"{ME}practitioners/"


def _api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _revoke(pk: int) -> str:
    return f"{GRANTS}{pk}/revoke/"


def _acknowledge(pk: int) -> str:
    return f"{ME}emergencies/{pk}/acknowledge/"


def _sees(user: User, record: Record) -> tuple[bool, str]:
    decision = decide(user=user, patient=record.patient, action=Action.READ, channel=Channel.API)
    return decision.granted, decision.reason


def _in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


ENDPOINTS = [
    ("get", STUDIES),
    ("get", HISTORY),
    ("post", _acknowledge(1)),
    ("get", GRANTS),
    ("post", GRANTS),
    ("post", _revoke(1)),
    ("get", OPPOSITION),
    ("put", OPPOSITION),
    ("get", f"{PRACTITIONERS}?q=Dehors"),
]


# --- Who may call it ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_refuses_anonymous_callers(method, path) -> None:
    response = getattr(_api(), method)(path, {}, format="json")
    # Session authentication sends no challenge: DRF answers 403 rather than 401.
    assert response.status_code == 403
    assert not Opposition.objects.exists()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_refuses_an_account_without_patient_record(gp, record, method, path) -> None:
    response = getattr(_api(gp), method)(path, {}, format="json")
    assert response.status_code == 403
    assert "Activez d'abord votre espace patient" in response.json()["detail"]
    assert response.json()["activate_url"] == "/mon-dossier/activer/"


def test_it_answers_in_english_once_the_portal_is_switched_to_it(
    gp, patient, radiologist, record
) -> None:
    client = _api(gp)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    detail = client.get(STUDIES).json()["detail"]
    assert detail.startswith("First activate your patient space")

    decide(user=radiologist, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    client = _api(patient)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    (entry,) = client.get(HISTORY).json()["results"]
    assert entry["why"] == "Member of the care team of the establishment that performed the study."


# --- My studies --------------------------------------------------------------------------------


def test_it_lists_my_studies_of_both_establishments_newest_first(patient, record, hospital) -> None:
    record.hospital_study.report_available = True
    record.hospital_study.source = ArchiveSourceFactory(
        establishment=hospital,
        viewer_url="http://127.0.0.1:8042/ohif/viewer?StudyInstanceUIDs={study_instance_uid}",
    )
    record.hospital_study.save()
    response = _api(patient).get(STUDIES)
    assert response.status_code == 200
    newest, oldest = response.json()["results"]
    assert (newest["id"], oldest["id"]) == (record.clinic_study.pk, record.hospital_study.pk)
    assert newest["establishment"] == {
        "id": record.clinic_study.establishment_id,
        "name": "Institut de Cancérologie de Lorraine",
    }
    assert (newest["study_date"], newest["modalities"]) == ("2026-06-09", ["MR"])
    assert (newest["report_available"], newest["report_url"], newest["viewer"]) == (
        False,
        None,
        False,
    )
    assert oldest["establishment"]["name"] == "CHR Metz-Thionville"
    assert oldest["report_url"] == (
        f"http://testserver/mon-dossier/examens/{record.hospital_study.pk}/compte-rendu/"
    )
    assert oldest["viewer"] is True
    assert {"study_time", "description", "series_count", "instance_count"} <= set(oldest)
    # The patient's own record is never named in the answer.
    assert "DURAND" not in response.content.decode()


def test_a_record_without_studies_answers_an_empty_list(patient) -> None:
    response = _api(patient).get(STUDIES)
    assert (response.status_code, response.json()) == (200, {"results": []})


def test_the_study_list_is_traced_on_the_api_channel(patient, record) -> None:
    _api(patient).get(STUDIES)
    traces = AccessEvent.objects.filter(actor_id=patient.pk, action=Action.LIST)
    assert {event.study_id for event in traces} == {
        record.hospital_study.pk,
        record.clinic_study.pk,
    }
    assert {(event.channel, event.rule, event.granted) for event in traces} == {
        (Channel.API, Rule.PATIENT_SELF, True)
    }


def test_it_lists_only_my_studies_whatever_the_parameters(patient, record, other_patient) -> None:
    _user, theirs = other_patient
    response = _api(patient).get(STUDIES, {"patient": theirs.patient.pk, "id": theirs.patient.pk})
    ids = [study["id"] for study in response.json()["results"]]
    assert theirs.hospital_study.pk not in ids
    assert set(ids) == {record.hospital_study.pk, record.clinic_study.pk}


def test_the_study_list_runs_a_bounded_number_of_queries(
    patient, record, hospital, django_assert_max_num_queries
) -> None:
    identifier = record.hospital_study.patient_identifier
    source = ArchiveSourceFactory(establishment=hospital)
    for day in range(1, 21):
        ImagingStudyFactory(
            patient_identifier=identifier, study_date=datetime.date(2025, 1, day), source=source
        )
    client = _api(patient)
    client.get(STUDIES)
    # Session, user, roles, the record, the studies (joins), the decision's facts and traces:
    # not one per study.
    with django_assert_max_num_queries(16):
        assert len(client.get(STUDIES).json()["results"]) == 22


# --- Who looked at my studies -----------------------------------------------------------------


def test_the_history_names_the_gp_the_exam_they_opened_and_why(
    patient, gp, radiologist, record, hospital
) -> None:
    PracticeSiteFactory(practitioner=gp.practitioner, establishment=None, practice_name="Cabinet")
    grant_to(gp, record.patient, by=radiologist, establishment=hospital)
    decide(
        user=gp,
        patient=record.patient,
        study=record.clinic_study,
        action=Action.READ,
        channel=Channel.WEB,
    )
    decide(user=radiologist, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    _api(patient).get(STUDIES)  # the patient's own visits are not listed
    response = _api(patient).get(HISTORY)
    assert response.status_code == 200
    data = response.json()
    assert data["days"] == 366
    assert data["emergencies"] == []
    by_name = {entry["practitioner"]["name"]: entry for entry in data["results"]}
    assert set(by_name) == {"Dan Dehors", "Charlie Radiologue"}
    entry = by_name["Dan Dehors"]
    assert (entry["rule"], entry["flagged"], entry["granted_by"]) == (
        "grant",
        False,
        "CHR Metz-Thionville",
    )
    assert entry["rule_label"]
    assert entry["why"].startswith("Accès ouvert par CHR Metz-Thionville")
    assert entry["practitioner"]["profession"] == "Médecin"
    assert entry["practitioner"]["specialty"] == "Médecine générale"
    assert entry["practitioner"]["workplaces"] == ["Cabinet"]
    assert entry["studies"] == [
        {
            "id": record.clinic_study.pk,
            "study_date": "2026-06-09",
            "modalities": ["MR"],
            "description": record.clinic_study.study_description,
            "establishment": {
                "id": record.clinic_study.establishment_id,
                "name": "Institut de Cancérologie de Lorraine",
            },
        }
    ]
    assert (entry["looked_at_record"], entry["through_archive"]) == (False, False)
    assert {"day", "first_at", "last_at"} <= set(entry)
    team = by_name["Charlie Radiologue"]
    assert (team["rule"], team["looked_at_record"], team["granted_by"]) == (
        "care_team",
        True,
        None,
    )
    assert "équipe de soins" in team["why"]


def test_a_grant_the_patient_gave_is_explained_as_theirs(patient, gp, record) -> None:
    grant_to(gp, record.patient, by=patient, reason=AccessGrant.Reason.PATIENT_CHOICE)
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    (entry,) = _api(patient).get(HISTORY).json()["results"]
    assert entry["granted_by"] == "patient"
    assert entry["why"] == "Vous lui avez donné accès à vos images."


def test_reading_the_history_is_traced_and_refused_attempts_are_not_shown(
    patient, gp, record
) -> None:
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    assert _api(patient).get(HISTORY).json()["results"] == []
    assert AccessEvent.objects.filter(
        actor_id=patient.pk, purpose="history", rule=Rule.PATIENT_SELF
    ).exists()


def test_an_emergency_access_is_flagged_and_announced_until_acknowledged(
    patient, gp, record
) -> None:
    access = break_glass(gp, record.patient)
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    client = _api(patient)
    data = client.get(HISTORY).json()
    (entry,) = data["results"]
    assert (entry["rule"], entry["flagged"]) == ("break_glass", True)
    assert "urgence" in entry["why"]
    (emergency,) = data["emergencies"]
    assert emergency["id"] == access.pk
    assert emergency["practitioner"]["name"] == "Dan Dehors"
    assert (emergency["category"], emergency["category_label"]) == (
        "life_threatening",
        "Urgence vitale",
    )
    assert emergency["acknowledged_at"] is None

    response = client.post(_acknowledge(access.pk))
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None
    access.refresh_from_db()
    assert access.patient_acknowledged_at is not None
    data = client.get(HISTORY).json()
    assert data["emergencies"] == []
    assert data["results"][0]["flagged"] is True  # still in the history, highlighted
    # Acknowledging again changes nothing.
    again = client.post(_acknowledge(access.pk))
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == response.json()["acknowledged_at"]


def test_another_patients_emergency_access_answers_404(patient, gp, record, other_patient) -> None:
    _user, theirs = other_patient
    access = break_glass(gp, theirs.patient)
    client = _api(patient)
    assert client.post(_acknowledge(access.pk)).status_code == 404
    assert client.post(_acknowledge(access.pk + 1000)).status_code == 404
    access.refresh_from_db()
    assert access.patient_acknowledged_at is None


def test_the_history_runs_a_bounded_number_of_queries(
    patient, radiologist, record, hospital, django_assert_max_num_queries
) -> None:
    for number in range(6):
        user = UserFactory(email=f"dr.{number}@cabinet.test")
        AccreditationFactory(practitioner=PractitionerFactory(user=user))
        PracticeSiteFactory(practitioner=user.practitioner, establishment=hospital)
        grant_to(user, record.patient, by=radiologist, establishment=hospital)
        for study in (record.hospital_study, record.clinic_study):
            decide(
                user=user,
                patient=record.patient,
                study=study,
                action=Action.READ,
                channel=Channel.WEB,
            )
        break_glass(user, record.patient)
    client = _api(patient)
    client.get(HISTORY)
    # User, roles, the record, the decision, the events and what they name (users,
    # practitioners, studies, grants, sites), the emergencies, the session: not one per row.
    with django_assert_max_num_queries(20):
        data = client.get(HISTORY).json()
    assert len(data["emergencies"]) == 6
    assert len(data["results"]) >= 6


# --- My grants ---------------------------------------------------------------------------------


def test_it_lists_the_grants_on_my_record_with_their_state(
    patient, gp, radiologist, record, hospital
) -> None:
    mine = grant_to(
        gp,
        record.patient,
        by=patient,
        reason=AccessGrant.Reason.PATIENT_CHOICE,
        comment="mon médecin traitant",
    )
    colleague = UserFactory(email="dr.eve@cabinet.test", first_name="Ève", last_name="Ailleurs")
    AccreditationFactory(practitioner=PractitionerFactory(user=colleague))
    theirs = grant_to(
        colleague, record.patient, by=radiologist, establishment=hospital, comment="Avis"
    )
    theirs.revoked_at = timezone.now()
    theirs.save()
    response = _api(patient).get(GRANTS)
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {mine.pk, theirs.pk}
    row = rows[mine.pk]
    assert row["practitioner"] == {
        "id": gp.practitioner.pk,
        "name": "Dan Dehors",
        "profession": "Médecin",
        "specialty": "Médecine générale",
    }
    assert (row["state"], row["revocable"], row["given_by_me"]) == ("active", True, True)
    assert (row["reason"], row["comment"], row["establishment"]) == (
        "patient_choice",
        "mon médecin traitant",
        None,
    )
    other = rows[theirs.pk]
    assert (other["state"], other["revocable"], other["given_by_me"]) == ("revoked", False, False)
    assert other["establishment"] == {"id": hospital.pk, "name": "CHR Metz-Thionville"}
    assert other["comment"] == ""  # staff's comment stays theirs
    assert other["revoked_at"] is not None


def test_it_does_not_list_another_patients_grants(patient, gp, radiologist, other_patient) -> None:
    _user, theirs = other_patient
    grant_to(gp, theirs.patient, by=radiologist)
    assert _api(patient).get(GRANTS).json()["results"] == []


def test_the_grant_list_runs_a_bounded_number_of_queries(
    patient, radiologist, record, hospital, django_assert_max_num_queries
) -> None:
    for number in range(8):
        user = UserFactory(email=f"dr.{number}@cabinet.test")
        AccreditationFactory(practitioner=PractitionerFactory(user=user))
        grant_to(user, record.patient, by=radiologist, establishment=hospital)
    client = _api(patient)
    client.get(GRANTS)
    # User, roles, the record, the opposition, the grants (joins), the session's renewal.
    with django_assert_max_num_queries(12):
        assert len(client.get(GRANTS).json()["results"]) == 8


def test_granting_the_gp_lets_them_see_at_once(patient, gp, record) -> None:
    assert _sees(gp, record) == (False, Rule.NO_RIGHT)
    last_day = timezone.localdate() + datetime.timedelta(days=30)
    response = _api(patient).post(
        GRANTS,
        {"practitioner": gp.practitioner.pk, "last_day": last_day.isoformat(), "comment": "MT"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    grant = AccessGrant.objects.get(patient=record.patient)
    assert data["id"] == grant.pk
    assert (data["state"], data["given_by_me"], data["reason"]) == (
        "active",
        True,
        "patient_choice",
    )
    assert (grant.granted_by, grant.comment) == (patient, "MT")
    # Until the chosen day included: it ends at the next midnight, Paris time.
    assert timezone.localtime(grant.valid_until) == timezone.make_aware(
        datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time.min)
    )
    assert _sees(gp, record) == (True, Rule.GRANT)


def test_a_practitioner_may_be_named_by_rpps(patient, gp, record) -> None:
    payload = {"practitioner": gp.practitioner.rpps, "last_day": _in_days(10)}
    assert _api(patient).post(GRANTS, payload, format="json").status_code == 201
    assert _sees(gp, record) == (True, Rule.GRANT)


def test_the_grant_is_on_my_record_whatever_the_body_says(
    patient, gp, record, other_patient
) -> None:
    _user, theirs = other_patient
    payload = {
        "practitioner": gp.practitioner.pk,
        "last_day": _in_days(10),
        "patient": theirs.patient.pk,
    }
    assert _api(patient).post(GRANTS, payload, format="json").status_code == 201
    assert AccessGrant.objects.get().patient == record.patient


def test_a_grant_needs_a_practitioner_and_a_last_day(patient, record) -> None:
    response = _api(patient).post(GRANTS, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"practitioner", "last_day"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"practitioner": 987654}, "practitioner"),
        ({"practitioner": "Dehors"}, "practitioner"),
        ({"practitioner": "unaccredited"}, "practitioner"),
        ({"last_day": "demain"}, "last_day"),
        ({"last_day": _in_days(-1)}, "last_day"),
        ({"last_day": "too_far"}, "last_day"),
    ],
)
def test_a_bad_grant_is_a_400_on_its_field(patient, gp, record, settings, change, field) -> None:
    payload = {"practitioner": gp.practitioner.pk, "last_day": _in_days(30), **change}
    if payload["practitioner"] == "unaccredited":
        payload["practitioner"] = PractitionerFactory().pk
    if payload["last_day"] == "too_far":
        payload["last_day"] = _in_days(settings.ACCESS_GRANT_MAX_DAYS + 1)
    response = _api(patient).post(GRANTS, payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not AccessGrant.objects.exists()
    assert _sees(gp, record) == (False, Rule.NO_RIGHT)


def test_the_longest_period_is_allowed_and_one_day_more_is_not(
    patient, gp, record, settings
) -> None:
    client = _api(patient)
    too_long = {
        "practitioner": gp.practitioner.pk,
        "last_day": _in_days(settings.ACCESS_GRANT_MAX_DAYS + 1),
    }
    response = client.post(GRANTS, too_long, format="json")
    assert "Un accès dure au plus" in response.json()["last_day"][0]
    longest = {**too_long, "last_day": _in_days(settings.ACCESS_GRANT_MAX_DAYS)}
    assert client.post(GRANTS, longest, format="json").status_code == 201


def test_no_grant_while_the_opposition_is_in_force(patient, gp, referent, record) -> None:
    oppose(record.patient, by=referent)
    payload = {"practitioner": gp.practitioner.pk, "last_day": _in_days(30)}
    response = _api(patient).post(GRANTS, payload, format="json")
    assert response.status_code == 400
    assert "s'oppose" in response.json()["non_field_errors"][0]
    assert not AccessGrant.objects.exists()


def test_revoking_a_grant_given_by_the_hospital_stops_the_gp_at_once(
    patient, gp, radiologist, record, hospital
) -> None:
    grant = grant_to(gp, record.patient, by=radiologist, establishment=hospital)
    assert _sees(gp, record) == (True, Rule.GRANT)
    client = _api(patient)
    response = client.post(_revoke(grant.pk))
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["revocable"]) == ("revoked", False)
    grant.refresh_from_db()
    assert grant.revoked_by == patient
    assert _sees(gp, record) == (False, Rule.NO_RIGHT)
    again = client.post(_revoke(grant.pk))
    assert again.status_code == 409
    assert again.json()["detail"] == "Cet accès est déjà révoqué."


def test_revoking_an_ended_grant_is_a_conflict(patient, gp, radiologist, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    grant.valid_until = timezone.now() - datetime.timedelta(minutes=1)
    grant.save()
    response = _api(patient).post(_revoke(grant.pk))
    assert response.status_code == 409
    assert response.json()["detail"] == "Cet accès a déjà pris fin."


def test_another_patients_grant_answers_404(
    patient, gp, radiologist, record, other_patient
) -> None:
    _user, theirs = other_patient
    grant = grant_to(gp, theirs.patient, by=radiologist)
    client = _api(patient)
    assert client.post(_revoke(grant.pk)).status_code == 404
    assert client.post(_revoke(grant.pk + 1000)).status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


# --- My opposition -----------------------------------------------------------------------------


def test_it_explains_the_opposition_before_it_is_confirmed(patient, record) -> None:
    data = _api(patient).get(OPPOSITION).json()
    assert (data["opposed"], data["since"]) == (False, None)
    assert [e["name"] for e in data["producing_establishments"]] == [
        "CHR Metz-Thionville",
        "Institut de Cancérologie de Lorraine",
    ]
    assert any("même en urgence" in line or "ni en urgence" in line for line in data["effects"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"opposed": True}, "confirm"),
        ({"opposed": True, "confirm": False}, "confirm"),
        ({"confirm": True}, "opposed"),
        ({"opposed": "peut-être", "confirm": True}, "opposed"),
    ],
)
def test_a_change_of_opposition_needs_its_confirmation(patient, record, body, field) -> None:
    response = _api(patient).put(OPPOSITION, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not Opposition.objects.exists()


def test_opposing_refuses_the_gp_at_once_and_withdrawing_restores(
    patient, gp, radiologist, record
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    client = _api(patient)
    assert _sees(gp, record) == (True, Rule.GRANT)

    response = client.put(OPPOSITION, {"opposed": True, "confirm": True}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["opposed"] is True
    assert data["since"] is not None
    assert any("retirez votre opposition" in line for line in data["effects"])
    assert Opposition.objects.get().source == Opposition.Source.PATIENT
    assert _sees(gp, record) == (False, Rule.OPPOSITION)
    assert _sees(radiologist, record)[0]  # the care team still sees
    assert [row["state"] for row in client.get(GRANTS).json()["results"]] == ["suspended"]

    # Asking for the state in force changes nothing.
    again = client.put(OPPOSITION, {"opposed": True, "confirm": True}, format="json")
    assert again.status_code == 200
    assert Opposition.objects.count() == 1

    withdrawn = client.put(OPPOSITION, {"opposed": False, "confirm": True}, format="json")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["opposed"] is False
    assert _sees(gp, record) == (True, Rule.GRANT)


def test_opposing_refuses_break_the_glass_too(patient, gp, record) -> None:
    _api(patient).put(OPPOSITION, {"opposed": True, "confirm": True}, format="json")
    break_glass(gp, record.patient)
    assert _sees(gp, record) == (False, Rule.OPPOSITION)


def test_the_opposition_of_another_patient_is_not_mine(patient, record, other_patient) -> None:
    other_user, theirs = other_patient
    _api(other_user).put(OPPOSITION, {"opposed": True, "confirm": True}, format="json")
    assert Opposition.objects.get().patient == theirs.patient
    assert _api(patient).get(OPPOSITION).json()["opposed"] is False


# --- The practitioner directory ----------------------------------------------------------------


def test_it_finds_accredited_practitioners_by_name(patient, gp, hospital) -> None:
    PracticeSiteFactory(practitioner=gp.practitioner, establishment=hospital)
    PractitionerFactory(first_name="Denis", last_name="Dehors-Sans-Habilitation")
    response = _api(patient).get(PRACTITIONERS, {"q": "deho"})
    assert response.status_code == 200
    data = response.json()
    assert data["truncated"] is False
    assert data["results"] == [
        {
            "id": gp.practitioner.pk,
            "name": "Dan Dehors",
            "profession": "Médecin",
            "specialty": "Médecine générale",
            "workplaces": ["CHR Metz-Thionville"],
        }
    ]


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "D"}, {"q": "x" * 101}])
def test_a_search_too_short_or_too_long_is_a_400_on_q(patient, query) -> None:
    response = _api(patient).get(PRACTITIONERS, query)
    assert response.status_code == 400
    assert set(response.json()) == {"q"}


def test_the_search_is_cut_and_runs_a_bounded_number_of_queries(
    patient, hospital, django_assert_max_num_queries
) -> None:
    for number in range(25):
        user = UserFactory(email=f"dr.{number}@cabinet.test", last_name=f"Martin{number:02d}")
        AccreditationFactory(practitioner=PractitionerFactory(user=user))
        PracticeSiteFactory(practitioner=user.practitioner, establishment=hospital)
    client = _api(patient)
    client.get(PRACTITIONERS, {"q": "Martin"})
    # User, roles, the record, the practitioners and their sites, the session's renewal.
    with django_assert_max_num_queries(12):
        data = client.get(PRACTITIONERS, {"q": "Martin"}).json()
    assert (len(data["results"]), data["truncated"]) == (20, True)


# --- Schema ------------------------------------------------------------------------------------


def test_the_schema_documents_the_patient_endpoints(patient) -> None:
    paths = _api(patient).get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "get" in paths["/api/v1/me/studies/"]
    assert "get" in paths["/api/v1/me/access-history/"]
    assert "post" in paths["/api/v1/me/emergencies/{id}/acknowledge/"]
    assert set(paths["/api/v1/me/grants/"]) >= {"get", "post"}
    assert "post" in paths["/api/v1/me/grants/{id}/revoke/"]
    assert set(paths["/api/v1/me/opposition/"]) >= {"get", "put"}
    parameters = paths["/api/v1/me/practitioners/"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["q"]
