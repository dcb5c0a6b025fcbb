"""Linking and separating patient records by hand, and who did it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from establishments.models import Membership
from imaging.models import (
    ImagingStudy,
    Patient,
    PatientIdentifier,
    PatientLinkEvent,
    readable_person_name,
)
from imaging.services import patient_link, patient_unlink
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp
from tests.imaging.factories import (
    ImagingStudyFactory,
    PatientIdentifierFactory,
    PatientRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ours(hospital) -> PatientIdentifier:
    identifier = PatientIdentifierFactory(establishment=hospital, patient_id="MTZ-1")
    ImagingStudyFactory(patient_identifier=identifier)
    return identifier


@pytest.fixture
def theirs() -> PatientIdentifier:
    identifier = PatientIdentifierFactory(
        establishment=EstablishmentFactory(name="CHRU de Nancy"), patient_id="NAN-9"
    )
    ImagingStudyFactory.create_batch(2, patient_identifier=identifier)
    return identifier


def test_readable_names_keep_accents_and_drop_carets() -> None:
    assert readable_person_name("DURAND^Hélène^Marie^Mme") == "Mme Hélène Marie DURAND"
    assert readable_person_name("N'GUYEN^Thị") == "Thị N'GUYEN"
    assert readable_person_name("DUPONT^Jean=デュポン^ジャン") == "Jean DUPONT"
    assert readable_person_name("") == ""


def test_linking_merges_two_records_and_records_who_did_it(referent, ours, theirs) -> None:
    survivor = patient_link(
        patient=ours.patient_record,
        other=theirs.patient_record,
        by=referent,
        reason="Même IPP régional",
    )

    theirs.refresh_from_db()
    assert theirs.patient_record == survivor
    assert ImagingStudy.objects.filter(patient=survivor).count() == 3
    retired = Patient.objects.exclude(pk=survivor.pk).get()
    assert retired.merged_into == survivor
    event = PatientLinkEvent.objects.get()
    assert (event.action, event.by, event.patient_pk, event.other_patient_pk) == (
        PatientLinkEvent.Action.LINK,
        referent,
        survivor.pk,
        retired.pk,
    )
    assert event.reason == "Même IPP régional"


def test_linking_refuses_two_different_ins(referent, ours, theirs) -> None:
    Patient.objects.filter(pk=ours.patient_record_id).update(ins="295109912611193")
    Patient.objects.filter(pk=theirs.patient_record_id).update(ins="262045439512382")
    ours.refresh_from_db()
    theirs.refresh_from_db()

    with pytest.raises(ValidationError, match="INS différents"):
        patient_link(patient=ours.patient_record, other=theirs.patient_record, by=referent)
    assert not PatientLinkEvent.objects.exists()


def test_linking_carries_the_ins_and_the_patient_account_over(
    referent, patient, ours, theirs
) -> None:
    account = Patient.objects.get(user=patient)
    Patient.objects.filter(pk=theirs.patient_record_id).update(ins="295109912611193")
    theirs.refresh_from_db()

    survivor = patient_link(patient=account, other=theirs.patient_record, by=referent)

    assert survivor.ins == "295109912611193"
    assert survivor.user == patient


def test_separating_gives_the_identifier_its_own_record_and_blocks_ins_relinking(
    referent, ours, theirs
) -> None:
    patient_link(patient=ours.patient_record, other=theirs.patient_record, by=referent)
    theirs.refresh_from_db()

    separated = patient_unlink(identifier=theirs, by=referent, reason="Homonyme")

    theirs.refresh_from_db()
    assert theirs.patient_record == separated
    assert theirs.ins_link_blocked
    assert ImagingStudy.objects.filter(patient=separated).count() == 2
    assert ImagingStudy.objects.filter(patient=ours.patient_record).count() == 1
    assert PatientLinkEvent.objects.filter(
        action=PatientLinkEvent.Action.UNLINK, by=referent
    ).exists()
    with pytest.raises(ValidationError):
        patient_unlink(identifier=theirs, by=referent)  # alone on its record now


def test_a_referent_links_records_from_the_identity_page(
    client_for, referent, ours, theirs
) -> None:
    client = client_for(referent)
    found = client.get(reverse("imaging:identity_search"), {"q": "MTZ-1"})
    assert ours in found.context["results"]

    response = client.post(
        reverse("imaging:identity_link", args=[ours.pk]),
        {"finess_eg": theirs.establishment.finess_eg, "patient_id": "NAN-9", "reason": "Vérifié"},
    )

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.patient_record_id == ours.patient_record_id
    page = client.get(reverse("imaging:identity_detail", args=[ours.pk])).content.decode()
    assert "NAN-9" in page
    assert "Rapprochement manuel" in page


def test_the_link_form_explains_an_unknown_record(client_for, referent, ours, theirs) -> None:
    response = client_for(referent).post(
        reverse("imaging:identity_link", args=[ours.pk]),
        {"finess_eg": theirs.establishment.finess_eg, "patient_id": "INCONNU", "reason": "x"},
    )

    assert response.status_code == 200
    assert "Aucun dossier ne porte cet identifiant" in response.content.decode()
    assert not PatientLinkEvent.objects.exists()


def test_a_referent_separates_records_from_the_identity_page(
    client_for, referent, ours, theirs
) -> None:
    patient_link(patient=ours.patient_record, other=theirs.patient_record, by=referent)

    response = client_for(referent).post(
        reverse("imaging:identity_unlink", args=[ours.pk]),
        {"separate": theirs.pk, "reason": "Homonyme"},
    )

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.patient_record_id != ours.patient_record_id


def test_a_referent_of_another_establishment_cannot_open_the_record(
    ours, theirs, client_for
) -> None:
    elsewhere = UserFactory(email="ref@nancy.test")
    enrol_totp(elsewhere)
    MembershipFactory(
        user=elsewhere, establishment=theirs.establishment, role=Membership.Role.REFERENT
    )
    client = client_for(elsewhere)

    assert client.get(reverse("imaging:identity_detail", args=[ours.pk])).status_code == 404
    assert (
        client.post(
            reverse("imaging:identity_link", args=[ours.pk]),
            {"finess_eg": theirs.establishment.finess_eg, "patient_id": "NAN-9", "reason": "x"},
        ).status_code
        == 404
    )
    assert (
        ours
        not in client.get(reverse("imaging:identity_search"), {"q": "MTZ-1"}).context["results"]
    )


@pytest.mark.parametrize("who", ["regional_admin", "director", "practitioner"])
def test_other_roles_cannot_link_records(request, client_for, ours, who) -> None:
    client = client_for(request.getfixturevalue(who))

    assert client.get(reverse("imaging:identity_detail", args=[ours.pk])).status_code == 403
    assert client.get(reverse("imaging:identity_search")).status_code == 403


def test_a_record_never_merges_into_itself(referent, ours) -> None:
    with pytest.raises(ValidationError):
        patient_link(patient=ours.patient_record, other=ours.patient_record, by=referent)
    assert PatientRecordFactory._meta.model.objects.count() == 1
