"""The practitioner's screens: "Mes patients", the patient search, a patient's imaging timeline
with the radiologists to call, the home panel and the menu entry. Each shows only what
``access.decide`` grants, and leaves the traces of its decisions."""

from __future__ import annotations

import datetime
import html as html_lib
import re

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, Action, Channel, Rule
from imaging.models import Patient
from portal.home import panels_for
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory
from tests.imaging.factories import (
    ImagingStudyFactory,
    PatientIdentifierFactory,
    PatientRecordFactory,
)
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

NAME = "Hélène DURAND"  # the cast patient, as the pages write her name
INS = "295109912611193"

MY_PATIENTS = reverse("access:my-patients")
SEARCH = reverse("access:patient-search")


def _detail(patient: Patient) -> str:
    return reverse("access:patient-detail", args=[patient.pk])


def _break_glass(patient: Patient) -> str:
    return reverse("access:break-glass", args=[patient.pk])


def _html(response) -> str:
    """The page's text with entities decoded (``d'urgence`` rather than ``d&#x27;urgence``)."""
    return html_lib.unescape(response.content.decode())


def _events(user, **filters) -> int:
    return AccessEvent.objects.filter(actor_id=user.pk, **filters).count()


@pytest.fixture
def hospital_study(record: Record):
    record.hospital_study.study_description = "SCANNER THORACIQUE HOPITAL"
    record.hospital_study.save(update_fields=["study_description"])
    return record.hospital_study


@pytest.fixture
def clinic_study(record: Record):
    record.clinic_study.study_description = "IRM PELVIENNE CLINIQUE"
    record.clinic_study.save(update_fields=["study_description"])
    return record.clinic_study


NOT_ACCREDITED = ["regional_admin", "auditor", "director", "referent", "patient"]


# --- "Mes patients" ----------------------------------------------------------------------------


def test_it_lists_the_care_teams_patients(client_for, radiologist, record) -> None:
    response = client_for(radiologist).get(MY_PATIENTS)
    html = _html(response)
    assert response.status_code == 200
    assert NAME in html
    assert f'href="{_detail(record.patient)}"' in html
    assert "17/04/1962" in html
    assert "Féminin" in html
    assert "Équipe de soins" in html


def test_it_lists_a_granted_patient_with_the_end_of_the_grant(
    client_for, gp, record, referent
) -> None:
    grant = grant_to(gp, record.patient, by=referent)
    html = _html(client_for(gp).get(MY_PATIENTS))
    end = timezone.localtime(grant.valid_until)
    assert NAME in html
    assert f"Autorisation jusqu'au {end.day} " in html
    assert str(end.year) in html


def test_it_flags_an_emergency_access_with_its_end(client_for, gp, record) -> None:
    access = break_glass(gp, record.patient)
    html = _html(client_for(gp).get(MY_PATIENTS))
    assert NAME in html
    end = timezone.localtime(access.expires_at).strftime("%H:%M")
    assert f"<strong class=\"flag\">Accès d'urgence jusqu'à {end}</strong>" in html


def test_it_does_not_list_patients_without_a_right(client_for, gp, record) -> None:
    html = _html(client_for(gp).get(MY_PATIENTS))
    assert NAME not in html
    assert "Aucun patient à afficher" in html


def test_it_hides_a_granted_patient_who_opposes_sharing(client_for, gp, record, referent) -> None:
    grant_to(gp, record.patient, by=referent)
    oppose(record.patient, by=referent)
    html = _html(client_for(gp).get(MY_PATIENTS))
    assert NAME not in html
    assert _detail(record.patient) not in html


@pytest.mark.parametrize("who", NOT_ACCREDITED)
def test_my_patients_is_refused_without_an_accreditation(request, client_for, who, record) -> None:
    user = request.getfixturevalue(who)
    response = client_for(user).get(MY_PATIENTS)
    assert response.status_code == 403
    assert "Réservé aux professionnels habilités" in _html(response)
    assert NAME not in _html(response)


def test_my_patients_sends_visitors_to_sign_in(client) -> None:
    response = client.get(MY_PATIENTS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_my_patients_traces_each_patient_decided(client_for, radiologist, record) -> None:
    client_for(radiologist).get(MY_PATIENTS)
    event = AccessEvent.objects.get(actor_id=radiologist.pk)
    assert (event.patient_id, event.action, event.channel) == (
        record.patient.pk,
        Action.LIST,
        Channel.WEB,
    )
    assert (event.granted, event.rule) == (True, Rule.CARE_TEAM)


def test_my_patients_shows_25_patients_a_page(client_for, radiologist, hospital) -> None:
    for n in range(30):
        PatientIdentifierFactory(
            establishment=hospital,
            patient_record=PatientRecordFactory(patient_name=f"MARTIN{n:02d}^Paul"),
        )
    client = client_for(radiologist)
    first = _html(client.get(MY_PATIENTS))
    second = _html(client.get(MY_PATIENTS, {"page": 2}))
    assert first.count("Paul MARTIN") == 25
    assert second.count("Paul MARTIN") == 5
    assert "Page 1 sur 2" in first
    assert _events(radiologist, action=Action.LIST) == 30


@pytest.mark.parametrize("patients", [3, 30])
def test_my_patients_costs_the_same_queries_whatever_the_page_holds(
    client_for, radiologist, hospital, clinic, referent, patients, django_assert_max_num_queries
) -> None:
    """A page of 25 patients (care team, grants, emergency accesses mixed) costs a fixed
    number of queries: the same bound holds for 3 patients and for 30."""
    for n in range(patients):
        person = PatientIdentifierFactory(establishment=clinic if n % 3 else hospital)
        if n % 3 == 1:
            grant_to(radiologist, person.patient_record, by=referent)
        if n % 3 == 2:
            break_glass(radiologist, person.patient_record)
    client = client_for(radiologist)
    with django_assert_max_num_queries(23):
        response = client.get(MY_PATIENTS)
    html = _html(response)
    assert html.count("Camille PATIENT") == min(patients, 25)
    assert "Équipe de soins" in html
    assert "Autorisation jusqu'au" in html
    assert "Accès d'urgence jusqu'à" in html


# --- Search ------------------------------------------------------------------------------------


def _search(client, **fields):
    return client.post(SEARCH, fields)


def test_the_search_form_is_shown_without_searching(client_for, radiologist, record) -> None:
    response = client_for(radiologist).get(SEARCH)
    html = _html(response)
    assert response.status_code == 200
    assert 'method="post"' in html
    assert 'name="ins"' in html
    assert _events(radiologist) == 0


def test_a_search_in_the_address_is_ignored(client_for, radiologist, record) -> None:
    """No patient data in addresses: query parameters are not a search."""
    Patient.objects.filter(pk=record.patient.pk).update(ins=INS)
    client = client_for(radiologist)
    by_ins = _html(client.get(SEARCH, {"ins": INS}))
    by_name = _html(client.get(SEARCH, {"last_name": "DURAND", "birth_date": "1962-04-17"}))
    for html in (by_ins, by_name):
        assert NAME not in html
        assert "Résultat de la recherche" not in html
    assert _events(radiologist) == 0


def test_it_finds_a_patient_by_ins(client_for, radiologist, record) -> None:
    Patient.objects.filter(pk=record.patient.pk).update(ins=INS)
    html = _html(_search(client_for(radiologist), ins="2 95 10 99 126 111 93"))
    assert NAME in html
    assert f'href="{_detail(record.patient)}"' in html
    event = AccessEvent.objects.get(actor_id=radiologist.pk)
    assert (event.action, event.granted, event.patient_id) == (
        Action.SEARCH,
        True,
        record.patient.pk,
    )


def test_it_finds_a_patient_by_name_and_birth_date(client_for, radiologist, record) -> None:
    html = _html(
        _search(
            client_for(radiologist),
            last_name="durand",
            first_name="helene",
            birth_date="17/04/1962",
        )
    )
    assert NAME in html
    assert f'href="{_detail(record.patient)}"' in html


def test_a_grant_holder_finds_the_granted_patient(client_for, gp, record, referent) -> None:
    grant_to(gp, record.patient, by=referent)
    html = _html(_search(client_for(gp), last_name="DURAND", birth_date="1962-04-17"))
    assert NAME in html
    assert "Autorisation jusqu'au" in html


def test_a_match_without_right_is_not_described_but_leads_to_emergency_access(
    client_for, gp, record
) -> None:
    Patient.objects.filter(pk=record.patient.pk).update(ins=INS)
    response = _search(client_for(gp), last_name="DURAND", birth_date="1962-04-17")
    html = _html(response)
    assert "Un patient correspond à votre recherche, mais vous n'avez aucun droit" in html
    assert f'href="{_break_glass(record.patient)}"' in html
    # Nothing beyond what was typed: no first name, sex, INS or link to the record.
    for secret in ("Hélène", "Féminin", INS, f'href="{_detail(record.patient)}"'):
        assert secret not in html
    event = AccessEvent.objects.get(actor_id=gp.pk)
    assert (event.action, event.granted, event.rule) == (Action.SEARCH, False, Rule.NO_RIGHT)


def test_a_match_who_opposes_sharing_is_not_described_and_has_no_emergency_access(
    client_for, gp, record, referent
) -> None:
    grant_to(gp, record.patient, by=referent)
    oppose(record.patient, by=referent)
    html = _html(_search(client_for(gp), last_name="DURAND", birth_date="1962-04-17"))
    assert "s'oppose au partage" in html
    assert "un accès d'urgence n'est pas possible" in html
    assert _break_glass(record.patient) not in html
    assert "Hélène" not in html
    assert _detail(record.patient) not in html


def test_it_says_when_nobody_matches(client_for, radiologist, record) -> None:
    html = _html(_search(client_for(radiologist), last_name="DUPONT", birth_date="1962-04-17"))
    assert "Aucun patient ne correspond à votre recherche." in html
    assert NAME not in html


def test_it_lists_only_the_granted_records_among_homonyms(
    client_for, radiologist, record, clinic
) -> None:
    """Two records with the same identity: the one at the radiologist's hospital is listed,
    the other (known only at the clinic) is not described."""
    other = PatientRecordFactory(
        patient_name="DURAND^Hélène", patient_birth_date=datetime.date(1962, 4, 17)
    )
    PatientIdentifierFactory(establishment=clinic, patient_record=other)
    html = _html(_search(client_for(radiologist), last_name="Durand", birth_date="1962-04-17"))
    assert html.count(NAME) == 1
    assert f'href="{_detail(record.patient)}"' in html
    assert f'href="{_detail(other)}"' not in html
    assert f'href="{_break_glass(other)}"' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Saisissez l'INS du patient, ou son nom et sa date de naissance."),
        ({"ins": "123"}, "Le numéro INS (NIR) doit comporter 15 caractères, clé comprise."),
        ({"ins": "295109912611194"}, "La clé du numéro INS (NIR) est incorrecte."),
        ({"last_name": "DURAND"}, "Avec le nom, saisissez la date de naissance."),
        ({"birth_date": "1962-04-17"}, "Avec la date de naissance, saisissez le nom."),
        ({"last_name": "DURAND", "birth_date": "31/02/1962"}, "au format jj/mm/aaaa"),
        ({"last_name": "DURAND", "birth_date": "2999-01-01"}, "ne peut pas être à venir"),
    ],
)
def test_the_search_explains_what_is_missing_in_french(
    client_for, radiologist, record, fields, message
) -> None:
    response = _search(client_for(radiologist), **fields)
    html = _html(response)
    assert response.status_code == 200
    assert message in html
    assert "Résultat de la recherche" not in html
    assert _events(radiologist) == 0


@pytest.mark.parametrize("who", NOT_ACCREDITED)
def test_the_search_is_refused_without_an_accreditation(request, client_for, who, record) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(SEARCH).status_code == 403
    response = _search(client, last_name="DURAND", birth_date="1962-04-17")
    assert response.status_code == 403
    assert NAME not in _html(response)
    assert not AccessEvent.objects.exists()


# --- A patient's imaging -----------------------------------------------------------------------


def test_the_care_team_sees_its_own_studies_only(
    client_for, radiologist, record, hospital_study, clinic_study
) -> None:
    response = client_for(radiologist).get(_detail(record.patient))
    html = _html(response)
    assert response.status_code == 200
    assert f"<h1>{NAME}</h1>" in html
    assert "SCANNER THORACIQUE HOPITAL" in html
    assert "IRM PELVIENNE CLINIQUE" not in html
    assert "Institut de Cancérologie de Lorraine" not in html
    assert "1 examen d'un autre établissement ne vous est pas accessible." in html


def test_a_grant_holder_sees_every_establishments_studies(
    client_for, gp, record, referent, hospital_study, clinic_study
) -> None:
    grant_to(gp, record.patient, by=referent)
    html = _html(client_for(gp).get(_detail(record.patient)))
    assert "SCANNER THORACIQUE HOPITAL" in html
    assert "IRM PELVIENNE CLINIQUE" in html
    assert "CHR Metz-Thionville" in html
    assert "Institut de Cancérologie de Lorraine" in html
    assert "ne vous sont pas accessibles" not in html
    assert "ne vous est pas accessible" not in html
    # Newest first: the clinic's June study before the hospital's March one.
    assert html.index("IRM PELVIENNE CLINIQUE") < html.index("SCANNER THORACIQUE HOPITAL")


def test_the_header_shows_the_identity(client_for, radiologist, record) -> None:
    Patient.objects.filter(pk=record.patient.pk).update(ins=INS)
    html = _html(client_for(radiologist).get(_detail(record.patient)))
    assert "17/04/1962" in html
    assert "Féminin" in html
    assert INS in html


def test_the_study_shows_its_facts(client_for, radiologist, record, hospital_study) -> None:
    hospital_study.series_count = 3
    hospital_study.instance_count = 412
    hospital_study.report_available = True
    hospital_study.save()
    html = _html(client_for(radiologist).get(_detail(record.patient)))
    assert "02/03/2026" in html
    assert "3 séries, 412 images" in html
    assert "disponible" in html
    assert "<strong>CT</strong>" in html


def test_an_emergency_access_flags_the_page_and_the_studies(
    client_for, gp, record, hospital_study, clinic_study
) -> None:
    access = break_glass(gp, record.patient)
    html = _html(client_for(gp).get(_detail(record.patient)))
    end = timezone.localtime(access.expires_at).strftime("%H:%M")
    assert "SCANNER THORACIQUE HOPITAL" in html
    assert "IRM PELVIENNE CLINIQUE" in html
    # The banner, "Votre accès", and each of the two studies.
    assert html.count(f"Accès d'urgence jusqu'à {end}") == 4


def test_the_page_is_refused_without_a_right_and_offers_emergency_access(
    client_for, gp, record, hospital_study
) -> None:
    response = client_for(gp).get(_detail(record.patient))
    html = _html(response)
    assert response.status_code == 403
    assert NAME not in html
    assert "SCANNER THORACIQUE HOPITAL" not in html
    assert f'href="{_break_glass(record.patient)}"' in html
    event = AccessEvent.objects.get(actor_id=gp.pk)
    assert (event.action, event.granted, event.rule) == (Action.READ, False, Rule.NO_RIGHT)


def test_the_page_is_refused_when_the_patient_opposes_sharing(
    client_for, gp, record, referent, hospital_study
) -> None:
    grant_to(gp, record.patient, by=referent)
    oppose(record.patient, by=referent)
    response = client_for(gp).get(_detail(record.patient))
    html = _html(response)
    assert response.status_code == 403
    assert "s'oppose au partage" in html
    assert NAME not in html
    assert _break_glass(record.patient) not in html


def test_opposition_does_not_stop_the_care_team(
    client_for, radiologist, record, referent, hospital_study
) -> None:
    oppose(record.patient, by=referent)
    html = _html(client_for(radiologist).get(_detail(record.patient)))
    assert "SCANNER THORACIQUE HOPITAL" in html


@pytest.mark.parametrize("who", NOT_ACCREDITED)
def test_the_page_is_refused_without_an_accreditation(request, client_for, who, record) -> None:
    response = client_for(request.getfixturevalue(who)).get(_detail(record.patient))
    assert response.status_code == 403
    assert NAME not in _html(response)


def test_an_unknown_patient_is_not_found(client_for, radiologist, db) -> None:
    assert (
        client_for(radiologist).get(reverse("access:patient-detail", args=[999999])).status_code
        == 404
    )


def test_a_merged_record_leads_to_the_kept_one(client_for, radiologist, record) -> None:
    old = PatientRecordFactory(merged_into=record.patient)
    response = client_for(radiologist).get(_detail(old))
    assert response["Location"] == _detail(record.patient)


def test_the_page_traces_the_patient_and_each_study(
    client_for, radiologist, record, hospital_study, clinic_study
) -> None:
    client_for(radiologist).get(_detail(record.patient))
    events = AccessEvent.objects.filter(actor_id=radiologist.pk, action=Action.READ)
    assert events.count() == 3
    assert set(events.values_list("study_id", "granted")) == {
        (None, True),
        (hospital_study.pk, True),
        (clinic_study.pk, False),
    }


# --- The radiologists to call ------------------------------------------------------------------


def _imaging_physician(establishment, *, last_name: str, specialty: str = "SM44", **site):
    user = UserFactory(first_name="Inès", last_name=last_name)
    person = PractitionerFactory(user=user, specialty_code=specialty, phone="03 83 00 00 00")
    AccreditationFactory(practitioner=person)
    return PracticeSiteFactory(practitioner=person, establishment=establishment, **site)


def test_each_study_shows_its_establishments_radiologists_from_the_directory(
    client_for, gp, record, referent, hospital, clinic, hospital_study, clinic_study
) -> None:
    grant_to(gp, record.patient, by=referent)
    _imaging_physician(hospital, last_name="Scanner", phone="03 87 55 12 34", department="Imagerie")
    _imaging_physician(clinic, last_name="Irm", mobile="06 12 34 56 78")
    _imaging_physician(clinic, last_name="Sans-Poste")  # no directory phone: the record's
    _imaging_physician(hospital, last_name="Generaliste", specialty="SM54")
    _imaging_physician(hospital, last_name="Parti", phone="03 87 99 99 99", status="suspended")
    html = _html(client_for(gp).get(_detail(record.patient)))
    assert "Inès Scanner (Imagerie)" in html
    assert 'href="tel:0387551234"' in html
    assert 'href="tel:0612345678"' in html
    assert "Inès Sans-Poste" in html
    assert "03 83 00 00 00" in html
    assert "Generaliste" not in html
    assert "Parti" not in html
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    clinic_row = next(row for row in rows if "IRM PELVIENNE CLINIQUE" in row)
    hospital_row = next(row for row in rows if "SCANNER THORACIQUE HOPITAL" in row)
    assert "Inès Irm" in clinic_row
    assert "Inès Scanner" not in clinic_row
    assert "Inès Scanner" in hospital_row
    assert "Inès Irm" not in hospital_row


def test_hidden_studies_do_not_show_their_radiologists(
    client_for, radiologist, record, clinic, hospital_study, clinic_study
) -> None:
    _imaging_physician(clinic, last_name="Irm", phone="03 83 11 11 11")
    html = _html(client_for(radiologist).get(_detail(record.patient)))
    assert "Inès Irm" not in html


@pytest.mark.parametrize("studies", [2, 60])
def test_a_page_of_50_studies_costs_a_bounded_number_of_queries(
    client_for,
    gp,
    record,
    referent,
    hospital,
    clinic,
    studies,
    django_assert_max_num_queries,
) -> None:
    grant_to(gp, record.patient, by=referent)
    at_hospital = record.hospital_study.patient_identifier
    at_clinic = record.clinic_study.patient_identifier
    for n in range(studies):
        ImagingStudyFactory(patient_identifier=at_hospital if n % 2 else at_clinic)
    for establishment in (hospital, clinic):
        for n in range(3):
            _imaging_physician(establishment, last_name=f"Radio{n}", phone="03 87 00 00 0{n}")
    client = client_for(gp)
    with django_assert_max_num_queries(26):
        response = client.get(_detail(record.patient))
    assert response.status_code == 200
    assert AccessEvent.objects.filter(actor_id=gp.pk, study_id__isnull=False).count() == min(
        studies + 2, 50
    )


# --- Home panel and menu -----------------------------------------------------------------------


def _access_panel(user) -> dict | None:
    request = RequestFactory().get("/")
    request.user = user
    for panel in panels_for(request):
        if panel["template"] == "access/practitioner/home.html":
            return panel["context"]
    return None


def test_practitioners_get_the_panel_with_their_rights(gp, record, referent) -> None:
    grant_to(gp, record.patient, by=referent)
    break_glass(gp, PatientRecordFactory())
    context = _access_panel(gp)
    assert context == {"grants": 1, "emergencies": 1}
    html = html_lib.unescape(render_to_string("access/practitioner/home.html", {"panel": context}))
    assert "1</strong>autorisation d'accès en cours" in html
    assert "1</strong>accès d'urgence ouvert" in html
    assert MY_PATIENTS in html
    assert SEARCH in html


@pytest.mark.parametrize("who", NOT_ACCREDITED)
def test_other_roles_do_not_get_the_panel(request, who) -> None:
    assert _access_panel(request.getfixturevalue(who)) is None


def test_the_menu_offers_my_patients_to_practitioners(client_for, radiologist) -> None:
    response = client_for(radiologist).get(MY_PATIENTS)
    labels = [str(item["label"]) for item in response.context["navigation"]]
    assert "Mes patients" in labels


def test_the_menu_does_not_offer_my_patients_to_others(client_for, referent) -> None:
    response = client_for(referent).get(reverse("home"))
    labels = [str(item["label"]) for item in response.context["navigation"]]
    assert "Mes patients" not in labels
