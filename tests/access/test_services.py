"""The access app's writes: grants, opposition, emergency accesses and their review. Each
permission has its denied twin, and each change is shown to take effect on the next decision."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from access.decision import decide
from access.models import AccessGrant, BreakGlassAccess, Opposition
from access.services import (
    break_glass_acknowledge,
    break_glass_open,
    break_glass_review,
    grant_create,
    grant_revoke,
    opposition_record,
    opposition_withdraw,
)
from audit.models import Action, Channel, Rule
from establishments.models import Membership
from imaging.models import Patient
from portal.models import User
from portal.roles import Role
from portal.services import user_grant_group_role
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.factories import (
    AccreditationFactory,
    EstablishmentFactory,
    MembershipFactory,
    PractitionerFactory,
    UserFactory,
    enrol_totp,
)
from tests.imaging.factories import PatientRecordFactory

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Patient inconscient aux urgences, bilan de traumatisme crânien."


@pytest.fixture
def other_referent(db: None) -> User:
    """A referent of an establishment that never saw the cast patient."""
    user = UserFactory(email="rene.referent@remiremont.test", first_name="René")
    enrol_totp(user)
    MembershipFactory(
        user=user,
        establishment=EstablishmentFactory(name="CH de Remiremont"),
        role=Membership.Role.REFERENT,
    )
    return user


def sees(user: User, patient: Patient) -> tuple[bool, str]:
    decision = decide(user=user, patient=patient, action=Action.READ, channel=Channel.WEB)
    return decision.granted, decision.reason


def share(by: User, to: User, record: Record, **fields: object) -> AccessGrant:
    values: dict[str, object] = {
        "reason": AccessGrant.Reason.REFERRAL,
        "valid_until": timezone.now() + datetime.timedelta(days=90),
    }
    values.update(fields)
    return grant_create(
        by=by,
        practitioner=to.practitioner,
        patient=record.patient,
        **values,  # type: ignore[arg-type]
    )


def emergency(user: User, record: Record, **fields: str) -> BreakGlassAccess:
    values = {
        "category": BreakGlassAccess.Category.LIFE_THREATENING,
        "justification": JUSTIFICATION,
    }
    values.update(fields)
    return break_glass_open(user=user, patient=record.patient, **values)


def messages_of(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    value = error.value
    return value.message_dict if hasattr(value, "error_dict") else {"__all__": value.messages}


# --- grant_create -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["referent", "radiologist"])
def test_it_lets_staff_of_a_producing_establishment_share(
    request, who, record, gp, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    staff = request.getfixturevalue(who)
    assert sees(gp, record.patient) == (False, Rule.NO_RIGHT)

    with django_capture_on_commit_callbacks(execute=True):
        grant = share(staff, gp, record, comment="  Suivi post-opératoire ")

    assert (grant.granted_by, grant.establishment, grant.comment) == (
        staff,
        hospital,
        "Suivi post-opératoire",
    )
    assert sees(gp, record.patient) == (True, Rule.GRANT)
    [message] = mailoutbox
    assert message.to == [gp.email]
    assert "Mes patients" in message.body
    assert "DURAND" not in message.body.upper()  # no patient data leaves by e-mail


@pytest.mark.parametrize("who", ["gp", "director", "auditor", "regional_admin", "other_referent"])
def test_it_refuses_sharing_by_anyone_outside_the_producing_establishments(
    request, who, record, gp, radiologist
) -> None:
    with pytest.raises(PermissionDenied):
        share(request.getfixturevalue(who), radiologist if who == "gp" else gp, record)
    assert not AccessGrant.objects.exists()


def test_it_lets_the_patient_share_by_their_own_choice(patient, record, gp) -> None:
    grant = share(patient, gp, record, reason=AccessGrant.Reason.PATIENT_CHOICE)
    assert (grant.establishment, grant.reason) == (None, AccessGrant.Reason.PATIENT_CHOICE)
    assert sees(gp, record.patient) == (True, Rule.GRANT)


def test_it_refuses_a_patient_choice_given_by_staff_and_a_referral_by_the_patient(
    referent, patient, record, gp
) -> None:
    with pytest.raises(ValidationError) as by_staff:
        share(referent, gp, record, reason=AccessGrant.Reason.PATIENT_CHOICE)
    with pytest.raises(ValidationError) as by_patient:
        share(patient, gp, record, reason=AccessGrant.Reason.REFERRAL)
    assert messages_of(by_staff) == {"reason": ["Choisissez le motif du partage."]}
    assert messages_of(by_patient) == {"reason": ["Un patient donne accès par son propre choix."]}


def test_it_asks_a_referent_of_several_producing_establishments_which_one_shares(
    referent, record, gp, hospital, clinic
) -> None:
    MembershipFactory(user=referent, establishment=clinic, role=Membership.Role.REFERENT)
    with pytest.raises(ValidationError) as error:
        share(referent, gp, record)
    assert messages_of(error) == {
        "establishment": ["Choisissez l'établissement au nom duquel vous partagez."]
    }
    assert share(referent, gp, record, establishment=clinic).establishment == clinic


def test_it_refuses_to_share_on_behalf_of_an_establishment_the_user_does_not_act_for(
    referent, record, gp, clinic
) -> None:
    with pytest.raises(ValidationError) as error:
        share(referent, gp, record, establishment=clinic)
    assert "establishment" in messages_of(error)


def test_it_refuses_a_practitioner_without_accreditation_in_force(referent, record) -> None:
    unaccredited = PractitionerFactory()
    with pytest.raises(ValidationError) as error:
        grant_create(
            by=referent,
            practitioner=unaccredited,
            patient=record.patient,
            reason=AccessGrant.Reason.REFERRAL,
            valid_until=timezone.now() + datetime.timedelta(days=30),
        )
    assert messages_of(error) == {
        "practitioner": ["Ce professionnel n'a pas d'habilitation en cours au réseau."]
    }


def test_it_refuses_a_grant_to_oneself(radiologist, record) -> None:
    with pytest.raises(ValidationError) as error:
        share(radiologist, radiologist, record)
    assert messages_of(error) == {"practitioner": ["Vous ne pouvez pas vous donner accès."]}


def test_it_refuses_a_period_ending_in_the_past_or_beyond_the_longest(referent, record, gp) -> None:
    now = timezone.now()
    longest = settings.ACCESS_GRANT_MAX_DAYS
    with pytest.raises(ValidationError) as past:
        share(referent, gp, record, valid_until=now - datetime.timedelta(minutes=1))
    with pytest.raises(ValidationError) as too_long:
        share(referent, gp, record, valid_until=now + datetime.timedelta(days=longest, hours=1))
    assert messages_of(past) == {"valid_until": ["La fin de l'accès doit être dans le futur."]}
    assert messages_of(too_long) == {"valid_until": [f"Un accès dure au plus {longest} jours."]}
    assert share(referent, gp, record, valid_until=now + datetime.timedelta(days=longest - 1))


def test_it_refuses_a_second_grant_while_one_is_in_force(referent, record, gp) -> None:
    share(referent, gp, record)
    with pytest.raises(ValidationError) as error:
        share(referent, gp, record)
    assert "a déjà accès à ce patient jusqu'au" in messages_of(error)["__all__"][0]
    assert AccessGrant.objects.count() == 1


def test_it_shares_again_once_the_grant_is_revoked(referent, record, gp) -> None:
    grant_revoke(by=referent, grant=share(referent, gp, record))
    share(referent, gp, record)
    assert sees(gp, record.patient) == (True, Rule.GRANT)


def test_it_refuses_to_share_while_the_patient_opposes(referent, record, gp) -> None:
    oppose(record.patient, by=referent)
    with pytest.raises(ValidationError) as error:
        share(referent, gp, record)
    assert "Le patient s'oppose au partage" in messages_of(error)["__all__"][0]


def test_it_refuses_to_share_a_merged_record(referent, record, gp) -> None:
    survivor = PatientRecordFactory()
    Patient.objects.filter(pk=record.patient.pk).update(merged_into=survivor)
    record.patient.refresh_from_db()
    with pytest.raises(ValidationError, match="fusionné"):
        share(referent, gp, record)


@pytest.mark.django_db(transaction=True)
def test_it_serialises_grants_on_a_patient_so_two_requests_cannot_both_open_one(
    referent, record, gp
) -> None:
    """A second request waits for the first's lock on the patient, then sees its grant."""
    outcome: list[object] = []

    def second_request() -> None:
        try:
            outcome.append(share(referent, gp, record))
        except ValidationError as error:
            outcome.append(error)
        finally:
            connection.close()

    with transaction.atomic():  # the first request, between its lock and its commit
        Patient.objects.select_for_update().get(pk=record.patient.pk)
        worker = threading.Thread(target=second_request)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive(), "the second request did not wait for the first"
        grant_to(gp, record.patient, by=referent)
    worker.join(timeout=10)

    [error] = outcome
    assert isinstance(error, ValidationError)
    assert AccessGrant.objects.active().filter(practitioner=gp.practitioner).count() == 1


# --- grant_revoke -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["granter", "referent", "radiologist"])
def test_it_revokes_a_grant_and_the_next_decision_refuses(
    request, who, record, gp, radiologist
) -> None:
    granter = UserFactory()
    grant = grant_to(gp, record.patient, by=granter)
    assert sees(gp, record.patient) == (True, Rule.GRANT)
    by = granter if who == "granter" else request.getfixturevalue(who)

    revoked = grant_revoke(by=by, grant=grant, reason="  Fin du suivi ")

    assert (revoked.revoked_by, revoked.revocation_reason) == (by, "Fin du suivi")
    assert revoked.revoked_at is not None
    assert sees(gp, record.patient) == (False, Rule.NO_RIGHT)


@pytest.mark.parametrize("who", ["gp", "director", "auditor", "other_referent"])
def test_it_refuses_revocation_by_others(request, who, record, gp, referent) -> None:
    grant = grant_to(gp, record.patient, by=referent)
    with pytest.raises(PermissionDenied):
        grant_revoke(by=request.getfixturevalue(who), grant=grant)
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert sees(gp, record.patient) == (True, Rule.GRANT)


def test_the_patient_revokes_a_grant_on_their_record(patient, record, gp, referent) -> None:
    grant_revoke(by=patient, grant=grant_to(gp, record.patient, by=referent))
    assert sees(gp, record.patient) == (False, Rule.NO_RIGHT)


def test_it_refuses_to_revoke_twice_or_an_ended_grant(referent, record, gp) -> None:
    grant = grant_to(gp, record.patient, by=referent)
    grant_revoke(by=referent, grant=grant)
    with pytest.raises(ValidationError, match="déjà révoqué"):
        grant_revoke(by=referent, grant=grant)
    now = timezone.now()
    ended = grant_to(
        gp,
        record.patient,
        by=referent,
        valid_from=now - datetime.timedelta(days=10),
        valid_until=now - datetime.timedelta(days=1),
    )
    with pytest.raises(ValidationError, match="déjà pris fin"):
        grant_revoke(by=referent, grant=ended)


# --- Opposition -------------------------------------------------------------------------------


def test_a_referent_records_the_opposition_and_it_blocks_at_once(
    referent, record, gp, radiologist
) -> None:
    grant_to(gp, record.patient, by=referent)
    other = AccreditationFactory().practitioner.user
    break_glass(other, record.patient)

    opposition = opposition_record(by=referent, patient=record.patient, comment=" Par écrit ")

    assert (opposition.source, opposition.recorded_by, opposition.comment) == (
        Opposition.Source.REFERENT,
        referent,
        "Par écrit",
    )
    assert sees(gp, record.patient) == (False, Rule.OPPOSITION)
    assert sees(other, record.patient) == (False, Rule.OPPOSITION)  # emergency access too
    assert sees(radiologist, record.patient) == (True, Rule.CARE_TEAM)
    assert AccessGrant.objects.active().count() == 1  # suspended, not deleted


def test_the_patient_records_their_own_opposition(patient, record) -> None:
    assert opposition_record(by=patient, patient=record.patient).source == (
        Opposition.Source.PATIENT
    )


@pytest.mark.parametrize(
    "who", ["radiologist", "gp", "director", "auditor", "regional_admin", "other_referent"]
)
def test_it_refuses_the_opposition_from_anyone_but_a_referent_or_the_patient(
    request, who, record
) -> None:
    with pytest.raises(PermissionDenied):
        opposition_record(by=request.getfixturevalue(who), patient=record.patient)
    assert not Opposition.objects.exists()


def test_it_refuses_a_second_opposition(referent, record) -> None:
    opposition_record(by=referent, patient=record.patient)
    with pytest.raises(ValidationError, match="déjà enregistrée"):
        opposition_record(by=referent, patient=record.patient)


def test_withdrawing_the_opposition_restores_the_grants_still_in_force(
    referent, record, gp
) -> None:
    grant_to(gp, record.patient, by=referent)
    opposition_record(by=referent, patient=record.patient)
    assert sees(gp, record.patient) == (False, Rule.OPPOSITION)

    withdrawn = opposition_withdraw(by=referent, patient=record.patient, comment="À sa demande")

    assert (withdrawn.withdrawn_by, withdrawn.withdrawal_comment) == (referent, "À sa demande")
    assert sees(gp, record.patient) == (True, Rule.GRANT)


def test_a_grant_revoked_during_the_opposition_stays_revoked(referent, record, gp) -> None:
    grant = grant_to(gp, record.patient, by=referent)
    opposition_record(by=referent, patient=record.patient)
    grant_revoke(by=referent, grant=grant)
    opposition_withdraw(by=referent, patient=record.patient)
    assert sees(gp, record.patient) == (False, Rule.NO_RIGHT)


def test_the_patient_withdraws_their_opposition(patient, record, referent) -> None:
    oppose(record.patient, by=referent)
    assert opposition_withdraw(by=patient, patient=record.patient).withdrawn_by == patient


@pytest.mark.parametrize("who", ["radiologist", "gp", "director", "other_referent"])
def test_it_refuses_the_withdrawal_from_anyone_but_a_referent_or_the_patient(
    request, who, record, referent
) -> None:
    oppose(record.patient, by=referent)
    with pytest.raises(PermissionDenied):
        opposition_withdraw(by=request.getfixturevalue(who), patient=record.patient)
    assert Opposition.objects.active().exists()


def test_it_refuses_to_withdraw_an_opposition_that_is_not_there(referent, record) -> None:
    with pytest.raises(ValidationError, match="pas d'opposition en cours"):
        opposition_withdraw(by=referent, patient=record.patient)


# --- Break-the-glass --------------------------------------------------------------------------


def test_an_accredited_practitioner_opens_emergency_access_and_auditors_are_told(
    gp, record, auditor, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        access = emergency(gp, record, justification=f"  {JUSTIFICATION} ", source_ip="192.0.2.10")

    assert access.expires_at - access.opened_at == datetime.timedelta(
        seconds=settings.BREAK_GLASS_DURATION_S
    )
    assert (access.review, access.justification, access.source_ip) == (
        BreakGlassAccess.Review.PENDING,
        JUSTIFICATION,
        "192.0.2.10",
    )
    decision = decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    assert (decision.granted, decision.reason, decision.flagged) == (True, Rule.BREAK_GLASS, True)
    [message] = mailoutbox
    assert message.to == [auditor.email]
    assert "DURAND" not in message.body.upper()


@pytest.mark.parametrize("who", ["referent", "director", "auditor", "patient"])
def test_it_refuses_emergency_access_without_an_accreditation(request, who, record) -> None:
    with pytest.raises(PermissionDenied):
        emergency(request.getfixturevalue(who), record)
    assert not BreakGlassAccess.objects.exists()


def test_it_asks_for_a_category_and_a_long_enough_justification(gp, record) -> None:
    with pytest.raises(ValidationError) as error:
        emergency(gp, record, category="whim", justification="  Urgent   !  ")
    minimum = settings.BREAK_GLASS_JUSTIFICATION_MIN_LENGTH
    assert messages_of(error) == {
        "category": ["Choisissez le type d'urgence."],
        "justification": [f"Décrivez l'urgence en {minimum} caractères au moins (8 saisis)."],
    }


def test_it_refuses_emergency_access_when_the_patient_opposes(gp, record, referent) -> None:
    oppose(record.patient, by=referent)
    with pytest.raises(ValidationError, match="s'oppose au partage"):
        emergency(gp, record, category=BreakGlassAccess.Category.UNCONSCIOUS)


def test_it_refuses_a_second_emergency_access_while_one_is_open(gp, record) -> None:
    break_glass(gp, record.patient)
    with pytest.raises(ValidationError, match="déjà ouvert"):
        emergency(gp, record)


@pytest.mark.parametrize("justified", [True, False])
def test_an_auditor_reviews_an_emergency_access(auditor, gp, record, justified) -> None:
    access = break_glass(gp, record.patient)
    reviewed = break_glass_review(
        by=auditor, access=access, justified=justified, comment=" Appel du SAMU vérifié "
    )
    assert (reviewed.review, reviewed.reviewed_by, reviewed.review_comment) == (
        "justified" if justified else "unjustified",
        auditor,
        "Appel du SAMU vérifié",
    )
    with pytest.raises(ValidationError, match="déjà été examiné"):
        break_glass_review(by=auditor, access=access, justified=True, comment="Encore")


@pytest.mark.parametrize("who", ["referent", "regional_admin", "gp", "patient"])
def test_it_refuses_a_review_from_anyone_but_an_auditor(request, who, gp, record) -> None:
    access = break_glass(gp, record.patient)
    with pytest.raises(PermissionDenied):
        break_glass_review(
            by=request.getfixturevalue(who), access=access, justified=True, comment="Vu"
        )
    access.refresh_from_db()
    assert access.review == BreakGlassAccess.Review.PENDING


def test_an_auditor_does_not_review_their_own_emergency_access(gp, record) -> None:
    user_grant_group_role(user=gp, role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        break_glass_review(
            by=gp, access=break_glass(gp, record.patient), justified=True, comment="Vu"
        )


def test_a_review_needs_a_comment(auditor, gp, record) -> None:
    with pytest.raises(ValidationError) as error:
        break_glass_review(
            by=auditor, access=break_glass(gp, record.patient), justified=False, comment="  "
        )
    assert messages_of(error) == {"comment": ["Expliquez votre décision en quelques mots."]}


def test_the_patient_acknowledges_an_emergency_access_once(patient, gp, record) -> None:
    access = break_glass(gp, record.patient)
    first = break_glass_acknowledge(by=patient, access=access).patient_acknowledged_at
    assert first is not None
    assert break_glass_acknowledge(by=patient, access=access).patient_acknowledged_at == first


@pytest.mark.parametrize("who", ["gp", "referent", "auditor"])
def test_only_the_patient_acknowledges_an_emergency_access(request, who, gp, record) -> None:
    access = break_glass(gp, record.patient)
    with pytest.raises(PermissionDenied):
        break_glass_acknowledge(by=request.getfixturevalue(who), access=access)
    access.refresh_from_db()
    assert access.patient_acknowledged_at is None
