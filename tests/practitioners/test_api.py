"""The API: accreditation requests (create and read your own; reviewers list and act) and the
directory search, with object-level checks and 400 errors per field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from practitioners.models import AccreditationRequest
from practitioners.services import accreditation_request_submit
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/accreditation-requests/"
DIRECTORY = "/api/v1/practitioners/"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _payload(reference, hospital, **overrides) -> dict:
    payload = {
        "identifier_type": "rpps",
        "identifier": reference.rpps,
        "last_name": "Roux",
        "first_name": "Emma",
        "profession_code": "10",
        "specialty_code": "SM44",
        "email": "emma.roux@cabinet.test",
        "purpose": "Interpréter les examens de mes patients.",
        "establishments": [hospital.pk],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def submitted(applicant, request_data) -> AccreditationRequest:
    return accreditation_request_submit(user=applicant, data=request_data())


# --- Creating and reading one's own ----------------------------------------------------------


def test_it_creates_a_request(applicant, reference, hospital, referent, mailoutbox) -> None:
    response = _api(applicant).post(REQUESTS, _payload(reference, hospital), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["sites"][0]["establishment_name"] == "CHR Metz-Thionville"
    assert body["sites"][0]["decision"] == "pending"


def test_it_creates_a_city_practice_request(applicant, reference, hospital) -> None:
    payload = _payload(
        reference,
        hospital,
        establishments=[],
        city_practices=[{"name": "Cabinet Stanislas", "postal_code": "54000", "city": "Nancy"}],
    )
    response = _api(applicant).post(REQUESTS, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["sites"][0]["practice_name"] == "Cabinet Stanislas"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"identifier": "123"}, "identifier", "11 chiffres"),
        ({"identifier": "10999999999"}, "identifier", "inconnu du référentiel"),
        ({"last_name": "Rousseau"}, "last_name", "ne correspond pas"),
        ({"profession_code": "99"}, "profession_code", ""),
        ({"establishments": []}, "non_field_errors", "au moins un lieu"),
        ({"email": "pas-un-email"}, "email", ""),
        (
            {"city_practices": [{"name": "Cabinet", "postal_code": "5", "city": "Nancy"}]},
            "city_practices",
            "5 chiffres",
        ),
    ],
)
def test_bad_input_gets_400_with_errors_per_field(
    applicant, reference, hospital, overrides, field, message
) -> None:
    response = _api(applicant).post(
        REQUESTS, _payload(reference, hospital, **overrides), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert message in str(errors[field])
    assert not AccreditationRequest.objects.exists()


def test_a_duplicate_gets_400(reference, hospital, submitted) -> None:
    someone = UserFactory()
    enrol_totp(someone)
    response = _api(someone).post(REQUESTS, _payload(reference, hospital), format="json")
    assert response.status_code == 400
    assert "déjà en cours pour ce numéro" in response.json()["identifier"][0]


def test_the_applicant_lists_and_reads_their_own(applicant, submitted) -> None:
    client = _api(applicant)
    listing = client.get(REQUESTS).json()
    assert [item["id"] for item in listing["results"]] == [submitted.pk]
    assert client.get(f"{REQUESTS}{submitted.pk}/").json()["identifier"] == submitted.identifier


def test_someone_else_gets_404(submitted) -> None:
    someone = UserFactory()
    enrol_totp(someone)
    client = _api(someone)
    assert client.get(f"{REQUESTS}{submitted.pk}/").status_code == 404
    assert client.get(REQUESTS).json()["results"] == []


def test_the_api_needs_a_second_factor(reference, hospital) -> None:
    response = _api(UserFactory()).post(REQUESTS, _payload(reference, hospital), format="json")
    assert response.status_code == 403


def test_anonymous_callers_are_refused(client, submitted) -> None:
    assert APIClient().get(REQUESTS).status_code == 403


# --- Reviewers -------------------------------------------------------------------------------


def test_reviewers_list_what_they_may_review(
    referent, other_referent, regional_admin, submitted
) -> None:
    for user, expected in (
        (referent, [submitted.pk]),
        (regional_admin, [submitted.pk]),
        (other_referent, []),
    ):
        results = _api(user).get(REQUESTS + "?scope=review").json()["results"]
        assert [item["id"] for item in results] == expected
    assert _api(referent).get(REQUESTS + "?scope=mine").json()["results"] == []


def test_the_referent_approves(referent, submitted, applicant) -> None:
    response = _api(referent).post(f"{REQUESTS}{submitted.pk}/approve/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved"
    assert body["valid_until"]
    assert applicant.practitioner.accreditations.exists()


def test_request_info_and_provide_info(referent, applicant, submitted) -> None:
    response = _api(referent).post(
        f"{REQUESTS}{submitted.pk}/request-info/", {"message": "Quel service ?"}, format="json"
    )
    assert response.json()["status"] == "info_requested"
    assert response.json()["pending_question"] == "Quel service ?"
    response = _api(applicant).post(
        f"{REQUESTS}{submitted.pk}/provide-info/", {"answer": "Radiologie"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"


def test_reject_needs_a_reason(referent, submitted) -> None:
    client = _api(referent)
    response = client.post(f"{REQUESTS}{submitted.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["reason"] == ["Le motif du refus est obligatoire."]
    response = client.post(f"{REQUESTS}{submitted.pk}/reject/", {}, format="json")
    assert response.status_code == 400
    response = client.post(
        f"{REQUESTS}{submitted.pk}/reject/", {"reason": "Inconnue"}, format="json"
    )
    assert response.json()["status"] == "rejected"


def test_a_decided_request_answers_409(referent, submitted) -> None:
    client = _api(referent)
    client.post(f"{REQUESTS}{submitted.pk}/approve/")
    response = client.post(f"{REQUESTS}{submitted.pk}/reject/", {"reason": "x"}, format="json")
    assert response.status_code == 409
    assert "n'attend pas de décision" in response.json()["detail"]


@pytest.mark.parametrize("who", ["other_referent", "director", "outsider"])
def test_others_cannot_act(request, submitted, who) -> None:
    client = _api(request.getfixturevalue(who))
    for action, body in (
        ("approve", {}),
        ("reject", {"reason": "x"}),
        ("request-info", {"message": "x"}),
    ):
        response = client.post(f"{REQUESTS}{submitted.pk}/{action}/", body, format="json")
        assert response.status_code == 404, (who, action)
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_the_applicant_cannot_act_on_their_own(applicant, submitted) -> None:
    response = _api(applicant).post(f"{REQUESTS}{submitted.pk}/approve/")
    assert response.status_code == 403


def test_a_reviewer_cannot_answer_for_the_applicant(referent, submitted) -> None:
    response = _api(referent).post(
        f"{REQUESTS}{submitted.pk}/provide-info/", {"answer": "x"}, format="json"
    )
    assert response.status_code == 403


# --- Directory -------------------------------------------------------------------------------


def test_the_directory_searches_accredited_practitioners(
    care_team_practitioner, hospital, regional_admin
) -> None:
    gp = PractitionerFactory(user=UserFactory(last_name="Généraliste"), specialty_code="SM54")
    AccreditationFactory(practitioner=gp)
    client = _api(care_team_practitioner)
    everyone = client.get(DIRECTORY).json()["results"]
    assert {item["last_name"] for item in everyone} == {"Radiologue", "Généraliste"}
    by_specialty = client.get(DIRECTORY + "?specialty=SM54").json()["results"]
    assert [item["last_name"] for item in by_specialty] == ["Généraliste"]
    here = client.get(DIRECTORY + f"?establishment={hospital.pk}").json()["results"]
    assert [item["last_name"] for item in here] == ["Radiologue"]
    assert here[0]["sites"][0]["establishment_name"] == "CHR Metz-Thionville"
    assert [i["last_name"] for i in client.get(DIRECTORY + "?search=radio").json()["results"]] == [
        "Radiologue"
    ]


def test_the_directory_rejects_bad_filters(care_team_practitioner) -> None:
    response = _api(care_team_practitioner).get(DIRECTORY + "?specialty=XX&establishment=abc")
    assert response.status_code == 400
    assert set(response.json()) == {"specialty", "establishment"}


@pytest.mark.parametrize("who", ["director", "auditor", "patient"])
def test_the_directory_is_refused_to_other_roles(request, who) -> None:
    assert _api(request.getfixturevalue(who)).get(DIRECTORY).status_code == 403


def test_the_directory_costs_a_bounded_number_of_queries(
    regional_admin, hospital, django_assert_max_num_queries
) -> None:
    for _ in range(20):
        practitioner = PractitionerFactory()
        AccreditationFactory(practitioner=practitioner)
        PracticeSiteFactory(practitioner=practitioner, establishment=hospital)
    client = _api(regional_admin)
    with django_assert_max_num_queries(12):
        assert len(client.get(DIRECTORY).json()["results"]) == 20
