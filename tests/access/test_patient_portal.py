"""The patient portal's pages: my exams at every establishment, who looked at them, my choices
(grants, opposition) taking effect at once on what practitioners see, the emergency-access
notice, and no way to reach another patient's data by changing an id."""

from __future__ import annotations

import datetime
import html

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.decision import decide
from access.models import AccessGrant, BreakGlassAccess, Opposition
from audit.models import AccessEvent, Action, Channel, Rule
from portal.models import User
from tests.access.conftest import Record, break_glass, grant_to
from tests.imaging.factories import (
    ArchiveSourceFactory,
)

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def sees(user: User, record: Record) -> bool:
    return decide(
        user=user, patient=record.patient, action=Action.READ, channel=Channel.WEB
    ).granted


# --- My exams ---------------------------------------------------------------------------------


def test_the_patient_sees_their_exams_of_both_establishments_newest_first(
    client_for, patient, record: Record
) -> None:
    page = text(client_for(patient).get(reverse("patient_portal:exams")))
    assert "CHR Metz-Thionville" in page
    assert "Institut de Cancérologie de Lorraine" in page
    assert page.index("9 juin 2026") < page.index("2 mars 2026")
    traces = AccessEvent.objects.filter(actor_id=patient.pk, action=Action.LIST)
    assert {event.study_id for event in traces} == {
        record.hospital_study.pk,
        record.clinic_study.pk,
    }
    assert {event.rule for event in traces} == {Rule.PATIENT_SELF}


def test_a_signed_in_user_without_record_is_sent_to_activation(client_for, gp) -> None:
    response = client_for(gp).get(reverse("patient_portal:exams"))
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_portal:activate")


def test_a_signed_out_visitor_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("patient_portal:exams"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_demo_study_report_is_explained_not_served(client_for, patient, record) -> None:
    record.hospital_study.report_available = True
    record.hospital_study.demo = True
    record.hospital_study.save()
    client = client_for(patient)
    response = client.get(reverse("patient_portal:report", args=[record.hospital_study.pk]))
    assert response.status_code == 302
    page = text(client.get(response["Location"]))
    assert "Télécharger le compte rendu" in page


@pytest.mark.parametrize("name", ["patient_portal:report"])
def test_another_patients_study_answers_404_by_id_substitution(
    client_for, patient, record, other_patient, name
) -> None:
    _user, theirs = other_patient
    response = client_for(patient).get(reverse(name, args=[theirs.hospital_study.pk]))
    assert response.status_code == 404


def test_another_patients_study_does_not_open_in_the_viewer(
    client_for, patient, record, other_patient
) -> None:
    _user, theirs = other_patient
    response = client_for(patient).post(
        reverse("patient_portal:viewer", args=[theirs.hospital_study.pk])
    )
    assert response.status_code == 404


def test_the_viewer_opens_my_study_with_a_token_of_mine(client_for, patient, record) -> None:
    source = ArchiveSourceFactory(
        establishment=record.hospital_study.establishment,
        viewer_url=(
            "http://127.0.0.1:8042/stone-webviewer/index.html"
            "?study={study_instance_uid}&token={token}"
        ),
    )
    record.hospital_study.source = source
    record.hospital_study.save()
    response = client_for(patient).post(
        reverse("patient_portal:viewer", args=[record.hospital_study.pk])
    )
    assert response.status_code == 303
    assert response["Location"].startswith("http://127.0.0.1:8042/stone-webviewer/")
    assert patient.viewer_tokens.filter(study=record.hospital_study).exists()


def test_the_viewer_is_post_only(client_for, patient, record) -> None:
    response = client_for(patient).get(
        reverse("patient_portal:viewer", args=[record.hospital_study.pk])
    )
    assert response.status_code == 405


# --- Who looked at my exams -------------------------------------------------------------------


def test_the_history_names_the_gp_and_the_exams_they_opened(
    client_for, patient, gp, radiologist, record: Record
) -> None:
    grant_to(gp, record.patient, by=radiologist, establishment=record.hospital_study.establishment)
    decide(
        user=gp,
        patient=record.patient,
        study=record.clinic_study,
        action=Action.READ,
        channel=Channel.WEB,
    )
    decide(user=radiologist, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    page = text(client_for(patient).get(reverse("patient_portal:history")))
    assert "Dan Dehors" in page
    assert "Médecin" in page
    assert "9 juin 2026" in page  # the clinic's study the GP opened
    assert "accès ouvert par CHR Metz-Thionville" in page
    assert "Charlie Radiologue" in page
    assert "membre de l'équipe de soins" in page
    # Two entries (the GP, the radiologist): the patient's own visits are not listed, and
    # reading the history was traced.
    assert page.count('<article class="history-entry') == 2
    assert AccessEvent.objects.filter(
        actor_id=patient.pk, purpose="history", rule=Rule.PATIENT_SELF
    ).exists()


def test_refused_attempts_and_own_visits_are_not_shown_as_consultations(
    client_for, patient, outsider, record
) -> None:
    decide(user=outsider, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    client = client_for(patient)
    client.get(reverse("patient_portal:exams"))
    page = text(client.get(reverse("patient_portal:history")))
    assert "Dan Dehors" not in page
    assert "Aucun professionnel n'a consulté vos examens" in page


def test_an_emergency_access_is_announced_until_acknowledged(
    client_for, patient, gp, record
) -> None:
    access = break_glass(gp, record.patient)
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    client = client_for(patient)
    page = text(client.get(reverse("patient_portal:exams")))
    assert "Un accès d'urgence à vos images a eu lieu" in page
    history = text(client.get(reverse("patient_portal:history")))
    assert "accès d'urgence ouvert sans autorisation préalable" in history
    assert "history-entry--emergency" in history
    home = text(client.get(reverse("home")))
    assert "Un accès d'urgence à vos images a eu lieu" in home
    response = client.post(
        reverse("patient_portal:emergency-acknowledge", args=[access.pk]),
        {"next_page": "history"},
    )
    assert response["Location"] == reverse("patient_portal:history")
    access.refresh_from_db()
    assert access.patient_acknowledged_at is not None
    assert "Un accès d'urgence à vos images a eu lieu" not in text(
        client.get(reverse("patient_portal:exams"))
    )
    # Still in the history, highlighted.
    assert "history-entry--emergency" in text(client.get(reverse("patient_portal:history")))


def test_another_patients_emergency_cannot_be_acknowledged(
    client_for, patient, gp, record, other_patient
) -> None:
    _user, theirs = other_patient
    access = break_glass(gp, theirs.patient)
    response = client_for(patient).post(
        reverse("patient_portal:emergency-acknowledge", args=[access.pk])
    )
    assert response.status_code == 404
    access.refresh_from_db()
    assert access.patient_acknowledged_at is None


# --- My choices -------------------------------------------------------------------------------


def test_granting_the_gp_lets_them_see_at_once_and_revoking_stops_them(
    client_for, patient, gp, record
) -> None:
    client = client_for(patient)
    assert not sees(gp, record)
    page = text(client.get(reverse("patient_portal:choices"), {"q": "Dehors"}))
    assert f'value="{gp.practitioner.pk}"' in page
    last_day = timezone.localdate() + datetime.timedelta(days=30)
    response = client.post(
        reverse("patient_portal:grant-create"),
        {"practitioner": gp.practitioner.pk, "last_day": last_day.isoformat()},
    )
    assert response.status_code == 302
    grant = AccessGrant.objects.get(patient=record.patient)
    assert grant.reason == AccessGrant.Reason.PATIENT_CHOICE
    assert grant.granted_by == patient
    assert sees(gp, record)
    page = text(client.get(reverse("patient_portal:choices")))
    assert "Retirer l'accès de Dan Dehors" in page
    client.post(reverse("patient_portal:grant-revoke", args=[grant.pk]))
    assert not sees(gp, record)


def test_a_grant_beyond_the_longest_period_is_refused_on_its_field(
    client_for, patient, gp, record, settings
) -> None:
    too_far = timezone.localdate() + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS + 5)
    response = client_for(patient).post(
        reverse("patient_portal:grant-create"),
        {"practitioner": gp.practitioner.pk, "last_day": too_far.isoformat()},
    )
    assert response.status_code == 400
    assert "Un accès dure au plus" in text(response)
    assert not AccessGrant.objects.exists()


def test_the_patient_revokes_a_grant_given_by_the_hospital(
    client_for, patient, gp, radiologist, record
) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    client_for(patient).post(reverse("patient_portal:grant-revoke", args=[grant.pk]))
    grant.refresh_from_db()
    assert grant.revoked_by == patient
    assert not sees(gp, record)


def test_another_patients_grant_cannot_be_revoked(
    client_for, patient, gp, radiologist, record, other_patient
) -> None:
    _user, theirs = other_patient
    grant = grant_to(gp, theirs.patient, by=radiologist)
    response = client_for(patient).post(reverse("patient_portal:grant-revoke", args=[grant.pk]))
    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_opposition_needs_confirmation_then_refuses_the_gp_and_withdrawal_restores(
    client_for, patient, gp, radiologist, record
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    client = client_for(patient)
    page = text(client.get(reverse("patient_portal:choices")))
    assert "Ce que change l'opposition" in page
    assert "même en urgence" in page
    unconfirmed = client.post(reverse("patient_portal:opposition-record"), {})
    assert unconfirmed.status_code == 400
    assert "Cochez la case" in text(unconfirmed)
    assert sees(gp, record)
    client.post(reverse("patient_portal:opposition-record"), {"opposition-confirm": "on"})
    opposition = Opposition.objects.get(patient=record.patient)
    assert opposition.source == Opposition.Source.PATIENT
    assert not sees(gp, record)
    assert sees(radiologist, record)  # the care team still sees
    assert "Suspendu par votre opposition" in text(client.get(reverse("patient_portal:choices")))
    client.post(reverse("patient_portal:opposition-withdraw"), {"retrait-confirm": "on"})
    assert sees(gp, record)


def test_opposition_refuses_break_the_glass_too(client_for, patient, gp, record) -> None:
    client_for(patient).post(
        reverse("patient_portal:opposition-record"), {"opposition-confirm": "on"}
    )
    BreakGlassAccess.objects.create(
        user=gp,
        practitioner=gp.practitioner,
        patient=record.patient,
        category=BreakGlassAccess.Category.LIFE_THREATENING,
        justification="x" * 40,
        opened_at=timezone.now() - datetime.timedelta(minutes=1),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert not sees(gp, record)


@pytest.mark.parametrize(
    "name",
    [
        "patient_portal:exams",
        "patient_portal:history",
        "patient_portal:choices",
        "patient_portal:welcome",
    ],
)
def test_every_page_shows_the_signed_in_patients_own_record_only(
    client_for, patient, record, other_patient, name
) -> None:
    other_user, _theirs = other_patient
    page = text(client_for(other_user).get(reverse(name)))
    assert "Institut de Cancérologie de Lorraine" not in page
    assert record.patient.display_name not in page


def test_no_patient_data_in_the_portals_addresses(client_for, patient, record) -> None:
    page = text(client_for(patient).get(reverse("patient_portal:exams")))
    for href in [part.split('"', 1)[0] for part in page.split('href="')[1:]]:
        assert record.patient.patient_name.split("^")[0] not in href
        assert record.hospital_study.study_instance_uid not in href
