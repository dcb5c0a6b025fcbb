"""Each rule of the access decision, its refusals, and the trace every decision leaves."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from access.decision import Decision, Target, decide, decide_for_token, decide_many
from access.tokens import token_hash, viewer_token_mint
from audit.chain import FIELDS
from audit.models import AccessEvent, Action, Channel, Rule
from tests.access.conftest import Record, break_glass, grant_to, oppose
from tests.imaging.factories import ImagingStudyFactory

pytestmark = pytest.mark.django_db


def _decide(user, record: Record, *, study=None, batch: bool | str = False) -> Decision:
    if batch == TOKEN:
        # The archive's path: the token, its user and the facts read together.
        if not user.is_authenticated:
            pytest.skip("a viewer token always has a user")
        minted = viewer_token_mint(user=user)
        bearer, decision = decide_for_token(
            token_hash=token_hash(minted.token),
            target=Target(record.patient, study),
            admit=lambda bearer: True,
            action=Action.READ,
            channel=Channel.WEB,
        )
        assert bearer is not None
        assert bearer.user.pk == user.pk
        assert decision is not None
        return decision
    if batch:
        return decide_many(
            user=user,
            targets=[Target(record.patient, study)],
            action=Action.READ,
            channel=Channel.WEB,
        )[0]
    return decide(
        user=user, patient=record.patient, study=study, action=Action.READ, channel=Channel.WEB
    )


TOKEN = "token"


@pytest.fixture(params=[False, True, TOKEN], ids=["single", "batch", "token"])
def batch(request) -> bool | str:
    """Every rule holds for one decision, for a batch and for a viewer token's bearer alike."""
    return request.param


def test_it_grants_the_patient_their_own_record(patient, record, batch) -> None:
    decision = _decide(patient, record, study=record.clinic_study, batch=batch)
    assert (decision.granted, decision.reason) == (True, Rule.PATIENT_SELF)


def test_it_refuses_an_anonymous_visitor(record, batch) -> None:
    decision = _decide(AnonymousUser(), record, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NOT_AUTHENTICATED)


@pytest.mark.parametrize("who", ["regional_admin", "auditor", "director", "referent"])
def test_it_refuses_users_without_accreditation(request, who, record, batch) -> None:
    user = request.getfixturevalue(who)
    decision = _decide(user, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NOT_ACCREDITED)


@pytest.mark.parametrize("status", ["suspended", "revoked", "expired"])
def test_it_refuses_a_care_team_member_whose_accreditation_is_not_in_force(
    radiologist, record, status, batch
) -> None:
    accreditation = radiologist.practitioner.accreditations.get()
    if status == "expired":
        accreditation.valid_until = timezone.localdate() - datetime.timedelta(days=1)
        accreditation.valid_from = accreditation.valid_until - datetime.timedelta(days=365)
    else:
        accreditation.status = status
    accreditation.save()
    decision = _decide(radiologist, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NOT_ACCREDITED)


def test_it_grants_the_care_team_the_studies_of_its_establishment(
    radiologist, record, batch
) -> None:
    decision = _decide(radiologist, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (True, Rule.CARE_TEAM)


def test_it_grants_the_care_team_the_patient_its_establishment_knows(
    radiologist, record, batch
) -> None:
    decision = _decide(radiologist, record, batch=batch)
    assert (decision.granted, decision.reason) == (True, Rule.CARE_TEAM)


def test_it_refuses_the_care_team_another_establishments_study(radiologist, record, batch) -> None:
    decision = _decide(radiologist, record, study=record.clinic_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NO_RIGHT)


def test_it_refuses_a_suspended_practice_site(radiologist, record, batch) -> None:
    radiologist.practitioner.practice_sites.update(status="suspended")
    decision = _decide(radiologist, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NO_RIGHT)


def test_it_refuses_an_accredited_practitioner_without_any_right(gp, record, batch) -> None:
    decision = _decide(gp, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.NO_RIGHT)


def test_it_grants_a_practitioner_with_a_grant(gp, radiologist, record, batch) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    decision = _decide(gp, record, study=record.clinic_study, batch=batch)
    assert (decision.granted, decision.reason, decision.grant_id) == (True, Rule.GRANT, grant.pk)


def test_it_refuses_a_revoked_grant(gp, radiologist, record, batch) -> None:
    grant_to(gp, record.patient, by=radiologist, revoked_at=timezone.now())
    assert not _decide(gp, record, batch=batch).granted


def test_it_refuses_an_expired_grant_and_one_not_yet_started(
    gp, radiologist, record, batch
) -> None:
    now = timezone.now()
    grant_to(
        gp,
        record.patient,
        by=radiologist,
        valid_from=now - datetime.timedelta(days=10),
        valid_until=now - datetime.timedelta(seconds=1),
    )
    grant_to(
        gp,
        record.patient,
        by=radiologist,
        valid_from=now + datetime.timedelta(days=1),
        valid_until=now + datetime.timedelta(days=10),
    )
    assert _decide(gp, record, batch=batch).reason == Rule.NO_RIGHT


def test_a_grant_on_another_patient_gives_nothing(gp, radiologist, record, batch) -> None:
    other = ImagingStudyFactory()
    grant_to(gp, other.patient, by=radiologist)
    assert _decide(gp, record, batch=batch).reason == Rule.NO_RIGHT


def test_the_grants_validity_caps_the_decisions(gp, radiologist, record, batch) -> None:
    grant_to(
        gp,
        record.patient,
        by=radiologist,
        valid_until=timezone.now() + datetime.timedelta(seconds=4),
    )
    decision = _decide(gp, record, batch=batch)
    assert decision.granted
    assert decision.validity_s <= 4


def test_opposition_refuses_a_granted_practitioner(
    gp, radiologist, referent, record, batch
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    oppose(record.patient, by=referent)
    decision = _decide(gp, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (False, Rule.OPPOSITION)


def test_opposition_leaves_the_producing_care_team_its_access(
    radiologist, referent, record, batch
) -> None:
    oppose(record.patient, by=referent)
    decision = _decide(radiologist, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason) == (True, Rule.CARE_TEAM)
    outside = _decide(radiologist, record, study=record.clinic_study, batch=batch)
    assert (outside.granted, outside.reason) == (False, Rule.OPPOSITION)


def test_opposition_refuses_break_the_glass(gp, referent, record, batch) -> None:
    break_glass(gp, record.patient)
    oppose(record.patient, by=referent)
    assert _decide(gp, record, batch=batch).reason == Rule.OPPOSITION


def test_withdrawing_the_opposition_restores_the_grant(
    gp, radiologist, referent, record, batch
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    opposition = oppose(record.patient, by=referent)
    assert not _decide(gp, record, batch=batch).granted
    opposition.withdrawn_at = timezone.now()
    opposition.save()
    assert _decide(gp, record, batch=batch).reason == Rule.GRANT


def test_break_the_glass_grants_flagged(gp, record, batch) -> None:
    access = break_glass(gp, record.patient)
    decision = _decide(gp, record, study=record.hospital_study, batch=batch)
    assert (decision.granted, decision.reason, decision.flagged) == (True, Rule.BREAK_GLASS, True)
    assert decision.break_glass_id == access.pk


def test_an_expired_break_the_glass_gives_nothing(gp, record, batch) -> None:
    access = break_glass(gp, record.patient)
    access.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    access.opened_at = access.expires_at - datetime.timedelta(hours=4)
    access.save()
    assert _decide(gp, record, batch=batch).reason == Rule.NO_RIGHT


def test_someone_elses_break_the_glass_gives_nothing(gp, radiologist, record, batch) -> None:
    break_glass(radiologist, record.patient)
    assert _decide(gp, record, batch=batch).reason == Rule.NO_RIGHT


def test_a_grant_outranks_break_the_glass(gp, radiologist, record, batch) -> None:
    grant_to(gp, record.patient, by=radiologist)
    break_glass(gp, record.patient)
    decision = _decide(gp, record, batch=batch)
    assert (decision.reason, decision.flagged) == (Rule.GRANT, False)


def test_it_refuses_a_study_that_is_not_the_patients(gp, record) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        decide(
            user=gp,
            patient=record.patient,
            study=ImagingStudyFactory(),
            action=Action.READ,
            channel=Channel.WEB,
        )


def test_every_decision_leaves_one_trace(gp, radiologist, record, rf) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    request = rf.get("/", REMOTE_ADDR="192.0.2.7")
    decide(
        user=gp,
        patient=record.patient,
        study=record.clinic_study,
        action=Action.READ,
        channel=Channel.API,
        purpose="care",
        request=request,
    )
    decide(user=radiologist, patient=record.patient, action=Action.SEARCH, channel=Channel.WEB)
    first, second = AccessEvent.objects.order_by("chain_seq")
    assert first.actor_id == gp.pk
    assert first.actor_role == "practitioner"
    assert first.actor_practitioner_id == gp.practitioner.pk
    assert (first.patient_id, first.study_id) == (record.patient.pk, record.clinic_study.pk)
    assert first.study_instance_uid == record.clinic_study.study_instance_uid
    assert first.establishment_id == record.clinic_study.establishment_id
    assert (first.action, first.channel, first.granted) == ("read", "api", True)
    assert (first.rule, first.grant_id, first.source_ip) == ("grant", grant.pk, "192.0.2.7")
    assert first.recorded_at.tzinfo is not None
    assert (second.action, second.rule, second.study_id) == ("search", "care_team", None)
    assert second.prev_hash == first.hash
    assert second.chain_seq == first.chain_seq + 1


def test_refusals_are_traced_too(gp, record) -> None:
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    event = AccessEvent.objects.get()
    assert (event.granted, event.rule) == (False, "no_right")


def test_a_batch_leaves_one_trace_per_target(radiologist, record) -> None:
    decisions = decide_many(
        user=radiologist,
        targets=[
            Target(record.patient, record.hospital_study),
            Target(record.patient, record.clinic_study),
        ],
        action=Action.LIST,
        channel=Channel.WEB,
    )
    assert [d.granted for d in decisions] == [True, False]
    assert AccessEvent.objects.count() == 2


def test_one_decision_costs_two_queries(
    gp, radiologist, record, django_assert_max_num_queries
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    with django_assert_max_num_queries(2):
        decide(
            user=gp,
            patient=record.patient,
            study=record.hospital_study,
            action=Action.READ,
            channel=Channel.ARCHIVE,
        )


def test_a_page_of_fifty_studies_costs_a_bounded_number_of_queries(
    gp, radiologist, record, hospital, clinic, django_assert_max_num_queries
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    studies = [
        ImagingStudyFactory(patient_identifier=record.hospital_study.patient_identifier)
        for _ in range(25)
    ] + [ImagingStudyFactory() for _ in range(25)]
    targets = [Target(study.patient, study) for study in studies]
    with django_assert_max_num_queries(7):
        decisions = decide_many(user=gp, targets=targets, action=Action.LIST, channel=Channel.WEB)
    assert sum(d.granted for d in decisions) == 25
    assert AccessEvent.objects.count() == 50


def test_an_auditor_reading_the_trail_is_granted_for_audit_only(auditor, record) -> None:
    audit = decide(
        user=auditor,
        patient=record.patient,
        action=Action.READ,
        channel=Channel.WEB,
        purpose="audit",
    )
    care = decide(user=auditor, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    assert (audit.granted, audit.reason) == (True, Rule.AUDIT)
    assert (care.granted, care.reason) == (False, Rule.NOT_ACCREDITED)
    event = AccessEvent.objects.get(rule=Rule.AUDIT)
    assert (event.actor_role, event.purpose) == ("auditor", "audit")


@pytest.mark.parametrize("who", ["radiologist", "regional_admin", "referent"])
def test_the_audit_purpose_is_refused_to_everyone_else(request, who, record, batch) -> None:
    user = request.getfixturevalue(who)
    targets = [Target(record.patient, record.hospital_study)]
    if batch:
        decision = decide_many(
            user=user, targets=targets, action=Action.LIST, channel=Channel.WEB, purpose="audit"
        )[0]
    else:
        decision = decide(
            user=user,
            patient=record.patient,
            study=record.hospital_study,
            action=Action.READ,
            channel=Channel.WEB,
            purpose="audit",
        )
    assert (decision.granted, decision.reason) == (False, Rule.NOT_AUDITOR)


def _for_token(user, record: Record, study, *, admit=lambda bearer: True):
    return decide_for_token(
        token_hash=token_hash(viewer_token_mint(user=user).token),
        target=Target(record.patient, study),
        admit=admit,
        action=Action.READ,
        channel=Channel.ARCHIVE,
    )


def test_a_viewer_tokens_decision_is_traced_as_its_users(gp, radiologist, record) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    decide(
        user=gp,
        patient=record.patient,
        study=record.clinic_study,
        action=Action.READ,
        channel=Channel.ARCHIVE,
    )
    _for_token(gp, record, record.clinic_study)
    by_user, by_token = AccessEvent.objects.order_by("chain_seq")
    # Every hashed field but where and when the row was chained.
    compared = [f for f in FIELDS if f not in {"chain", "chain_seq", "recorded_at", "prev_hash"}]
    assert {name: getattr(by_token, name) for name in compared} == {
        name: getattr(by_user, name) for name in compared
    }
    assert (by_token.rule, by_token.grant_id) == (Rule.GRANT, grant.pk)


def test_a_patient_opening_their_own_study_by_token_is_traced_as_the_patient(
    patient, record
) -> None:
    _bearer, decision = _for_token(patient, record, record.clinic_study)
    assert decision is not None
    assert decision.reason == Rule.PATIENT_SELF
    event = AccessEvent.objects.get()
    assert (event.actor_role, event.actor_practitioner_id) == ("patient", None)


def test_a_token_refused_before_deciding_leaves_no_trace(gp, radiologist, record) -> None:
    grant_to(gp, record.patient, by=radiologist)
    bearer, decision = _for_token(gp, record, record.clinic_study, admit=lambda bearer: False)
    assert bearer is not None
    assert decision is None
    assert not AccessEvent.objects.exists()


def test_an_unknown_token_decides_nothing(record) -> None:
    assert decide_for_token(
        token_hash=token_hash("not-a-token"),
        target=Target(record.patient, record.clinic_study),
        admit=lambda bearer: True,
        action=Action.READ,
        channel=Channel.ARCHIVE,
    ) == (None, None)
    assert not AccessEvent.objects.exists()


def test_a_viewer_tokens_decision_costs_two_queries(
    gp, radiologist, record, django_assert_max_num_queries
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    minted = viewer_token_mint(user=gp)
    with django_assert_max_num_queries(2):
        _bearer, decision = decide_for_token(
            token_hash=token_hash(minted.token),
            target=Target(record.patient, record.hospital_study),
            admit=lambda bearer: True,
            action=Action.READ,
            channel=Channel.ARCHIVE,
        )
    assert decision is not None
    assert decision.granted
