"""The pages of accreditation requests: the form, the reviewers' queue and decisions, the
applicant's answer, with every refusal's denied twin (another establishment's referent gets a
404, as if the request did not exist)."""

from __future__ import annotations

import pytest

from practitioners.models import AccreditationRequest, AccreditationRequestSite
from practitioners.services import (
    accreditation_request_ask_info,
    accreditation_request_submit,
)
from tests.factories import UserFactory, enrol_totp
from tests.practitioners.factories import PractitionerReferenceFactory

pytestmark = pytest.mark.django_db

FORM_URL = "/habilitation/demande/"
LIST_URL = "/habilitation/demandes/"


def _form(reference, hospital, **overrides) -> dict:
    data = {
        "identifier_type": "rpps",
        "identifier": reference.rpps,
        "last_name": "Roux",
        "first_name": "Emma",
        "profession_code": "10",
        "specialty_code": "SM44",
        "email": "emma.roux@cabinet.test",
        "phone": "03 87 00 00 00",
        "establishments": [hospital.pk],
        "practice_name": "",
        "practice_address": "",
        "practice_postal_code": "",
        "practice_city": "",
        "purpose": "Interpréter les examens de mes patients.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def submitted(applicant, request_data) -> AccreditationRequest:
    return accreditation_request_submit(user=applicant, data=request_data())


# --- The form --------------------------------------------------------------------------------


def test_the_form_is_labelled_and_prefilled_from_the_account(client_for, applicant, hospital):
    page = client_for(applicant).get(FORM_URL).content.decode()
    for field in ("id_identifier", "id_last_name", "id_profession_code", "id_purpose"):
        assert f'for="{field}"' in page
    assert 'value="Roux"' in page
    assert "CHR Metz-Thionville" in page
    assert "Envoyer ma demande" in page


def test_submitting_the_form_creates_the_request(
    client_for,
    applicant,
    reference,
    hospital,
    referent,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    client = client_for(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(FORM_URL, _form(reference, hospital))
    created = AccreditationRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/habilitation/demandes/{created.pk}/"
    assert len(mailoutbox) == 2
    page = client.get(response["Location"]).content.decode()
    assert "En attente d&#x27;examen" in page
    assert "Demande déposée" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"identifier": "123"}, "Le numéro RPPS doit comporter 11 chiffres."),
        ({"identifier": "10999999999"}, "inconnu du référentiel national"),
        ({"last_name": "Rousseau"}, "Ce nom ne correspond pas"),
        ({"establishments": []}, "Indiquez au moins un lieu d&#x27;exercice"),
        ({"specialty_code": ""}, "La spécialité est obligatoire pour un médecin."),
        ({"practice_name": "Cabinet", "practice_city": ""}, "Donnez la commune de votre cabinet."),
        ({"practice_postal_code": "5400"}, "Le code postal doit comporter 5 chiffres."),
    ],
)
def test_the_form_shows_each_check_in_french(
    client_for, applicant, reference, hospital, overrides, message
) -> None:
    response = client_for(applicant).post(FORM_URL, _form(reference, hospital, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AccreditationRequest.objects.exists()


def test_a_duplicate_request_is_refused_with_a_clear_message(
    client_for, reference, hospital, submitted
) -> None:
    someone = UserFactory()
    enrol_totp(someone)
    response = client_for(someone).post(FORM_URL, _form(reference, hospital))
    assert "déjà en cours pour ce numéro" in response.content.decode()
    assert AccreditationRequest.objects.count() == 1


def test_a_user_with_an_open_request_is_sent_to_it(client_for, applicant, submitted) -> None:
    response = client_for(applicant).get(FORM_URL)
    assert response["Location"] == f"/habilitation/demandes/{submitted.pk}/"


def test_an_accredited_practitioner_is_told_so(client_for, outsider, hospital) -> None:
    ref = PractitionerReferenceFactory(
        rpps=outsider.practitioner.rpps, last_name="DEHORS", first_name="DAN"
    )
    response = client_for(outsider).post(
        FORM_URL, _form(ref, hospital, last_name="Dehors", first_name="Dan")
    )
    assert "déjà une habilitation en cours de validité" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get(FORM_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Who sees a request ----------------------------------------------------------------------


def test_the_referent_of_the_named_establishment_reviews_it(client_for, referent, submitted):
    page = client_for(referent).get(f"/habilitation/demandes/{submitted.pk}/").content.decode()
    assert "Votre décision" in page
    assert ">Approuver<" in page
    assert "Référentiel national : EMMA ROUX" in page


@pytest.mark.parametrize("who", ["other_referent", "director", "outsider", "auditor"])
def test_others_get_a_404(request, client_for, submitted, who) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)
    assert client.get(f"/habilitation/demandes/{submitted.pk}/").status_code == 404
    for action in ("approuver", "refuser", "complement"):
        response = client.post(f"/habilitation/demandes/{submitted.pk}/{action}/", {"reason": "x"})
        assert response.status_code == 404
    assert AccreditationRequestSite.objects.get().decision == "pending"


def test_regional_admins_see_every_request(client_for, regional_admin, submitted) -> None:
    response = client_for(regional_admin).get(f"/habilitation/demandes/{submitted.pk}/")
    assert response.status_code == 200
    assert "Votre décision" in response.content.decode()


def test_the_applicant_sees_their_request_but_cannot_decide_it(
    client_for, applicant, submitted
) -> None:
    client = client_for(applicant)
    page = client.get(f"/habilitation/demandes/{submitted.pk}/").content.decode()
    assert "Votre décision" not in page
    response = client.post(f"/habilitation/demandes/{submitted.pk}/approuver/")
    assert response.status_code == 403
    assert AccreditationRequestSite.objects.get().decision == "pending"


def test_anonymous_visitors_see_no_request(client, submitted) -> None:
    response = client.get(f"/habilitation/demandes/{submitted.pk}/")
    assert response.status_code == 302
    response = client.post(f"/habilitation/demandes/{submitted.pk}/approuver/")
    assert response.status_code == 302
    assert AccreditationRequestSite.objects.get().decision == "pending"


# --- Decisions through the pages -------------------------------------------------------------


def test_the_referent_approves(
    client_for, referent, applicant, submitted, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    client = client_for(referent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/habilitation/demandes/{submitted.pk}/approuver/", follow=True)
    assert "l&#x27;habilitation est accordée" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "approved"
    assert mailoutbox[-1].to == [applicant.email]


def test_approving_needs_a_post(client_for, referent, submitted) -> None:
    response = client_for(referent).get(f"/habilitation/demandes/{submitted.pk}/approuver/")
    assert response.status_code == 405


def test_rejecting_without_a_reason_shows_an_error(client_for, referent, submitted) -> None:
    response = client_for(referent).post(
        f"/habilitation/demandes/{submitted.pk}/refuser/", {"reason": "  "}
    )
    assert response.status_code == 200
    assert "Le motif du refus est obligatoire." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_rejecting_with_a_reason(client_for, referent, submitted) -> None:
    client_for(referent).post(
        f"/habilitation/demandes/{submitted.pk}/refuser/", {"reason": "Inconnue du service"}
    )
    submitted.refresh_from_db()
    assert submitted.status == "rejected"
    assert submitted.sites.get().reason == "Inconnue du service"


def test_asking_and_answering_through_the_pages(
    client, applicant, referent, submitted, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    client.force_login(referent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/habilitation/demandes/{submitted.pk}/complement/",
            {"message": "Quel est votre service ?"},
        )
    submitted.refresh_from_db()
    assert submitted.status == "info_requested"

    client.force_login(applicant)
    answer_url = f"/habilitation/demandes/{submitted.pk}/repondre/"
    page = client.get(answer_url).content.decode()
    assert "Quel est votre service ?" in page
    assert 'for="id_answer"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url, {"answer": "Radiologie"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    assert mailoutbox[-1].to == [referent.email]


def test_only_the_applicant_reaches_the_answer_page(client_for, referent, submitted) -> None:
    accreditation_request_ask_info(request=submitted, reviewer=referent, message="Service ?")
    response = client_for(referent).get(f"/habilitation/demandes/{submitted.pk}/repondre/")
    assert response.status_code == 404


# --- The reviewers' queue --------------------------------------------------------------------


def test_the_queue_lists_the_requests_naming_the_referents_establishment(
    client_for, referent, submitted
) -> None:
    page = client_for(referent).get(LIST_URL).content.decode()
    assert f"/habilitation/demandes/{submitted.pk}/" in page
    assert "Emma Roux" in page


def test_another_referent_does_not_see_it_in_the_queue(
    client_for, other_referent, submitted
) -> None:
    page = client_for(other_referent).get(LIST_URL).content.decode()
    assert "Emma Roux" not in page
    assert "Aucune demande." in page


@pytest.mark.parametrize("who", ["director", "outsider", "auditor", "patient", "applicant"])
def test_the_queue_is_for_reviewers_only(request, client_for, who) -> None:
    user = request.getfixturevalue(who)
    assert client_for(user).get(LIST_URL).status_code == 403


def test_the_queue_costs_a_bounded_number_of_queries(
    client_for, regional_admin, hospital, city_practice, django_assert_max_num_queries
) -> None:
    from practitioners.services import AccreditationRequestData

    for n in range(12):
        user = UserFactory()
        ref = PractitionerReferenceFactory(last_name=user.last_name, first_name="Camille")
        accreditation_request_submit(
            user=user,
            data=AccreditationRequestData(
                identifier_type="rpps",
                identifier=ref.rpps,
                last_name=user.last_name,
                first_name="Camille",
                profession_code="60",
                email=f"p{n}@x.test",
                purpose="Soins",
                establishment_ids=(hospital.pk,),
                city_practices=(city_practice,),
            ),
        )
    client = client_for(regional_admin)
    with django_assert_max_num_queries(16):
        response = client.get(LIST_URL)
    assert response.content.decode().count("/habilitation/demandes/") >= 12
    with django_assert_max_num_queries(16):
        client.get(LIST_URL + "?status=submitted")
