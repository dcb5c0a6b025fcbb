"""Accreditation requests: the automatic checks at submission, routing to the reviewers, the
reviewers' decisions (approve, ask for more information, reject with a reason), the e-mails at
each step, and the refusals (another establishment's referent, the applicant themselves...)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from portal.roles import Role, forget_roles, has_role
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    PracticeSite,
    Practitioner,
)
from practitioners.selectors import is_in_care_team
from practitioners.services import (
    accreditation_request_approve,
    accreditation_request_ask_info,
    accreditation_request_provide_info,
    accreditation_request_reject,
    accreditation_request_submit,
)
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp
from tests.practitioners.factories import PractitionerReferenceFactory

pytestmark = pytest.mark.django_db

Kind = AccreditationEvent.Kind


def _kinds(request: AccreditationRequest) -> list[str]:
    return list(request.events.order_by("id").values_list("kind", flat=True))


def _submit(user, data, django_capture_on_commit_callbacks) -> AccreditationRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return accreditation_request_submit(user=user, data=data, base_url="http://portail.test/")


# --- Submission and its checks ---------------------------------------------------------------


def test_it_records_a_request_and_mails_the_applicant_and_the_referent(
    applicant, referent, request_data, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    created = _submit(applicant, request_data(), django_capture_on_commit_callbacks)

    assert created.status == AccreditationRequest.Status.SUBMITTED
    assert created.sites.get().establishment.name == "CHR Metz-Thionville"
    assert _kinds(created) == [Kind.SUBMITTED]
    recipients = sorted(message.to[0] for message in mailoutbox)
    assert recipients == [applicant.email, referent.email]
    to_referent = next(m for m in mailoutbox if m.to == [referent.email])
    assert "Nouvelle demande d'habilitation à examiner" in to_referent.subject
    assert f"http://portail.test/habilitation/demandes/{created.pk}/" in to_referent.body
    assert "Emma Roux" in to_referent.body


def test_city_practices_go_to_the_regional_admins(
    applicant,
    referent,
    regional_admin,
    request_data,
    city_practice,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    _submit(
        applicant,
        request_data(establishment_ids=(), city_practices=(city_practice,)),
        django_capture_on_commit_callbacks,
    )
    assert sorted(m.to[0] for m in mailoutbox) == sorted([applicant.email, regional_admin.email])


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("1234", "11 chiffres"),
        ("1099999901A", "que des chiffres"),
        ("", "obligatoire"),
    ],
)
def test_it_refuses_a_bad_rpps(applicant, request_data, identifier, message) -> None:
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(user=applicant, data=request_data(identifier=identifier))
    assert message in " ".join(raised.value.message_dict["identifier"])
    assert not AccreditationRequest.objects.exists()


def test_it_refuses_an_unknown_rpps(applicant, request_data, reference) -> None:
    unknown = reference.rpps[:-2] + "99"
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(user=applicant, data=request_data(identifier=unknown))
    assert "inconnu du référentiel" in raised.value.message_dict["identifier"][0]


def test_it_refuses_names_that_do_not_match_the_reference(applicant, request_data) -> None:
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(
            user=applicant, data=request_data(last_name="Rousseau", first_name="Emmanuelle")
        )
    errors = raised.value.message_dict
    assert "ne correspond pas" in errors["last_name"][0]
    assert "ne correspond pas" in errors["first_name"][0]


def test_names_match_whatever_the_case_accents_and_hyphens(applicant, hospital) -> None:
    from practitioners.services import AccreditationRequestData

    ref = PractitionerReferenceFactory(last_name="LÉVÊQUE-D'ARC", first_name="HÉLÈNE MARIE")
    created = accreditation_request_submit(
        user=applicant,
        data=AccreditationRequestData(
            identifier_type="rpps",
            identifier=f"  {ref.rpps} ",
            last_name="lévêque d'arc",
            first_name="Helene-Marie",
            profession_code="10",
            specialty_code="SM44",
            email="h@cabinet.test",
            purpose="Soins",
            establishment_ids=(hospital.pk,),
        ),
    )
    assert created.identifier == ref.rpps


def test_an_rpps_failing_luhn_is_accepted(applicant, request_data, recwarn) -> None:
    ref = PractitionerReferenceFactory(rpps="10000001910")  # Luhn fails on it
    created = accreditation_request_submit(user=applicant, data=request_data(identifier=ref.rpps))
    assert created.identifier == "10000001910"
    assert not [w for w in recwarn if "Luhn" in str(w.message)]


def test_it_refuses_a_second_open_request_of_the_same_user(applicant, request_data) -> None:
    accreditation_request_submit(user=applicant, data=request_data())
    other_ref = PractitionerReferenceFactory()
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(user=applicant, data=request_data(identifier=other_ref.rpps))
    assert "déjà une demande d'habilitation en cours" in raised.value.messages[0]


def test_it_refuses_a_duplicate_request_for_the_same_identifier(applicant, request_data) -> None:
    accreditation_request_submit(user=applicant, data=request_data())
    someone = UserFactory()
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(user=someone, data=request_data())
    assert "déjà en cours pour ce numéro" in raised.value.message_dict["identifier"][0]


def test_the_database_refuses_duplicate_open_requests(applicant, request_data) -> None:
    first = accreditation_request_submit(user=applicant, data=request_data())
    with pytest.raises(IntegrityError):
        AccreditationRequest.objects.create(
            user=UserFactory(),
            identifier_type=first.identifier_type,
            identifier=first.identifier,
            last_name="Roux",
            first_name="Emma",
            profession_code="10",
            email="x@y.test",
            purpose="x",
        )


def test_a_decided_request_does_not_block_a_new_one(
    applicant, referent, request_data, django_capture_on_commit_callbacks
) -> None:
    first = accreditation_request_submit(user=applicant, data=request_data())
    accreditation_request_reject(request=first, reviewer=referent, reason="Inconnu du service")
    second = accreditation_request_submit(user=applicant, data=request_data())
    assert second.status == AccreditationRequest.Status.SUBMITTED


def test_a_user_with_an_accreditation_in_force_is_told_so(request_data, hospital) -> None:
    user = UserFactory()
    ref = PractitionerReferenceFactory(last_name=user.last_name.upper(), first_name="CAMILLE")
    AccreditationFactory(practitioner=PractitionerFactory(user=user, rpps=ref.rpps))
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(
            user=user,
            data=request_data(identifier=ref.rpps, last_name=user.last_name, first_name="Camille"),
        )
    assert "déjà une habilitation en cours de validité" in raised.value.messages[0]


def test_a_suspended_practitioner_cannot_request_again(request_data) -> None:
    user = UserFactory()
    ref = PractitionerReferenceFactory(last_name=user.last_name.upper(), first_name="CAMILLE")
    AccreditationFactory(
        practitioner=PractitionerFactory(user=user, rpps=ref.rpps),
        status=Accreditation.Status.SUSPENDED,
    )
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(
            user=user,
            data=request_data(identifier=ref.rpps, last_name=user.last_name, first_name="Camille"),
        )
    assert "suspendue" in raised.value.messages[0]


def test_an_identifier_of_another_account_is_refused(applicant, request_data, reference) -> None:
    PractitionerFactory(user=UserFactory(), rpps=reference.rpps)
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(user=applicant, data=request_data())
    assert "rattaché à un autre compte" in raised.value.message_dict["identifier"][0]


def test_it_needs_a_site_a_specialty_for_physicians_and_member_establishments(
    applicant, request_data, other_hospital
) -> None:
    other_hospital.status = "prospect"
    other_hospital.save()
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(
            user=applicant, data=request_data(establishment_ids=(), specialty_code="")
        )
    assert "au moins un lieu" in " ".join(raised.value.messages)
    assert "spécialité est obligatoire" in raised.value.message_dict["specialty_code"][0]
    with pytest.raises(ValidationError) as raised:
        accreditation_request_submit(
            user=applicant, data=request_data(establishment_ids=(other_hospital.pk,))
        )
    assert "membres du réseau" in raised.value.message_dict["establishments"][0]


# --- Review: approval ------------------------------------------------------------------------


def test_approval_accredits_for_the_configured_validity_and_joins_the_care_team(
    applicant,
    referent,
    hospital,
    request_data,
    settings,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    settings.ACCREDITATION_VALIDITY_DAYS = 180
    created = accreditation_request_submit(user=applicant, data=request_data())
    assert not has_role(applicant, Role.PRACTITIONER)

    with django_capture_on_commit_callbacks(execute=True):
        approved = accreditation_request_approve(request=created, reviewer=referent)

    assert approved.status == AccreditationRequest.Status.APPROVED
    practitioner = Practitioner.objects.get(user=applicant)
    assert (practitioner.rpps, practitioner.last_name, practitioner.specialty_code) == (
        created.identifier,
        "Roux",
        "SM44",
    )
    accreditation = practitioner.accreditations.get()
    today = timezone.localdate()
    assert (accreditation.valid_from, accreditation.valid_until) == (
        today,
        today + datetime.timedelta(days=180),
    )
    assert accreditation.granted_by == referent
    site = practitioner.practice_sites.get()
    assert (site.establishment, site.status) == (hospital, PracticeSite.Status.ACTIVE)
    forget_roles(applicant)  # a new HTTP request loads the user afresh
    assert has_role(applicant, Role.PRACTITIONER)
    assert is_in_care_team(user=applicant, establishment=hospital)
    assert _kinds(approved) == [Kind.SUBMITTED, Kind.SITES_APPROVED, Kind.APPROVED]
    assert all(e.practitioner == practitioner for e in approved.events.all())
    [message] = mailoutbox
    assert message.to == [applicant.email]
    assert "Votre habilitation est accordée" in message.subject


def test_the_default_validity_is_twelve_months(applicant, referent, request_data) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    accreditation_request_approve(request=created, reviewer=referent)
    accreditation = Accreditation.objects.get(practitioner__user=applicant)
    assert (accreditation.valid_until - accreditation.valid_from).days == 365


def test_each_site_is_decided_by_its_own_reviewer(
    applicant,
    referent,
    other_referent,
    other_hospital,
    hospital,
    request_data,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    created = accreditation_request_submit(
        user=applicant, data=request_data(establishment_ids=(hospital.pk, other_hospital.pk))
    )
    with django_capture_on_commit_callbacks(execute=True):
        partial = accreditation_request_approve(request=created, reviewer=referent)
    assert partial.status == AccreditationRequest.Status.SUBMITTED
    assert not Accreditation.objects.exists()
    assert mailoutbox == []
    # The referent cannot decide the other establishment's site.
    with pytest.raises(ValidationError, match="n'attend votre décision"):
        accreditation_request_approve(request=created, reviewer=referent)

    with django_capture_on_commit_callbacks(execute=True):
        done = accreditation_request_reject(
            request=created, reviewer=other_referent, reason="Inconnu de nos services"
        )
    assert done.status == AccreditationRequest.Status.APPROVED
    sites = Practitioner.objects.get(user=applicant).practice_sites.all()
    assert [s.establishment for s in sites] == [hospital]
    assert "Inconnu de nos services" in mailoutbox[0].body


def test_a_request_whose_sites_are_all_rejected_is_rejected(
    applicant, referent, request_data, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    with django_capture_on_commit_callbacks(execute=True):
        rejected = accreditation_request_reject(
            request=created, reviewer=referent, reason="Ne fait pas partie du service"
        )
    assert rejected.status == AccreditationRequest.Status.REJECTED
    assert not Practitioner.objects.filter(user=applicant).exists()
    assert _kinds(rejected) == [Kind.SUBMITTED, Kind.SITES_REJECTED, Kind.REJECTED]
    [message] = mailoutbox
    assert "refusée" in message.subject
    assert "Ne fait pas partie du service" in message.body


def test_a_rejection_needs_a_reason(applicant, referent, request_data) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    with pytest.raises(ValidationError) as raised:
        accreditation_request_reject(request=created, reviewer=referent, reason="   ")
    assert "obligatoire" in raised.value.message_dict["reason"][0]
    assert AccreditationRequestSite.objects.get().decision == "pending"
    with pytest.raises(IntegrityError):
        AccreditationRequestSite.objects.filter(request=created).update(decision="rejected")


def test_regional_admins_decide_city_practices_and_referents_do_not(
    applicant, referent, regional_admin, request_data, city_practice
) -> None:
    created = accreditation_request_submit(
        user=applicant, data=request_data(establishment_ids=(), city_practices=(city_practice,))
    )
    with pytest.raises(ValidationError, match="n'attend votre décision"):
        accreditation_request_approve(request=created, reviewer=referent)
    approved = accreditation_request_approve(request=created, reviewer=regional_admin)
    assert approved.status == AccreditationRequest.Status.APPROVED
    site = PracticeSite.objects.get(practitioner__user=applicant)
    assert (site.establishment, site.practice_name, site.city) == (
        None,
        "Cabinet médical Stanislas",
        "Nancy",
    )


def test_a_decided_request_cannot_be_decided_again(applicant, referent, request_data) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    accreditation_request_approve(request=created, reviewer=referent)
    with pytest.raises(ValidationError, match="n'attend pas de décision"):
        accreditation_request_reject(request=created, reviewer=referent, reason="Trop tard")


# --- Review: asking for more information -----------------------------------------------------


def test_asking_for_information_round_trip(
    applicant, referent, request_data, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    with django_capture_on_commit_callbacks(execute=True):
        asked = accreditation_request_ask_info(
            request=created, reviewer=referent, message="Dans quel service exercez-vous ?"
        )
    assert asked.status == AccreditationRequest.Status.INFO_REQUESTED
    [question] = mailoutbox
    assert question.to == [applicant.email]
    assert "Dans quel service exercez-vous ?" in question.body
    assert f"/habilitation/demandes/{created.pk}/repondre/" in question.body
    # Nothing can be decided while the applicant has not answered.
    with pytest.raises(ValidationError):
        accreditation_request_approve(request=created, reviewer=referent)

    with django_capture_on_commit_callbacks(execute=True):
        answered = accreditation_request_provide_info(
            request=created, user=applicant, answer="En radiologie, au pôle imagerie."
        )
    assert answered.status == AccreditationRequest.Status.SUBMITTED
    assert answered.pending_question == ""
    assert mailoutbox[1].to == [referent.email]
    assert "En radiologie" in mailoutbox[1].body

    accreditation_request_approve(request=created, reviewer=referent)
    assert _kinds(created) == [
        Kind.SUBMITTED,
        Kind.INFO_REQUESTED,
        Kind.INFO_PROVIDED,
        Kind.SITES_APPROVED,
        Kind.APPROVED,
    ]


def test_only_the_applicant_answers_and_only_when_asked(applicant, referent, request_data) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    with pytest.raises(ValidationError, match="Aucun complément"):
        accreditation_request_provide_info(request=created, user=applicant, answer="Rien")
    accreditation_request_ask_info(request=created, reviewer=referent, message="Précisez")
    with pytest.raises(ValidationError, match="Seul le demandeur"):
        accreditation_request_provide_info(request=created, user=referent, answer="Moi")
    with pytest.raises(ValidationError):
        accreditation_request_ask_info(request=created, reviewer=referent, message="")


def test_a_referent_of_another_establishment_cannot_decide(
    applicant, other_referent, request_data
) -> None:
    created = accreditation_request_submit(user=applicant, data=request_data())
    for action in (
        lambda: accreditation_request_approve(request=created, reviewer=other_referent),
        lambda: accreditation_request_reject(request=created, reviewer=other_referent, reason="x"),
        lambda: accreditation_request_ask_info(
            request=created, reviewer=other_referent, message="x"
        ),
    ):
        with pytest.raises(ValidationError, match="n'attend votre décision"):
            action()
    assert AccreditationRequestSite.objects.get().decision == "pending"


def test_nobody_decides_their_own_request(referent, request_data, reference) -> None:
    reference.last_name = referent.last_name.upper()
    reference.first_name = referent.first_name.upper()
    reference.save()
    created = accreditation_request_submit(
        user=referent,
        data=request_data(last_name=referent.last_name, first_name=referent.first_name),
    )
    with pytest.raises(ValidationError, match="n'attend votre décision"):
        accreditation_request_approve(request=created, reviewer=referent)


def test_a_new_approval_after_expiry_keeps_the_practitioner_and_adds_a_period(
    applicant, referent, request_data, hospital
) -> None:
    old = accreditation_request_submit(user=applicant, data=request_data())
    accreditation_request_approve(request=old, reviewer=referent)
    Accreditation.objects.update(
        valid_from=datetime.date(2024, 1, 1),
        valid_until=datetime.date(2025, 1, 1),
        status="expired",
    )
    again = accreditation_request_submit(user=applicant, data=request_data())
    accreditation_request_approve(request=again, reviewer=referent)
    practitioner = Practitioner.objects.get(user=applicant)
    assert practitioner.accreditations.count() == 2
    assert practitioner.practice_sites.count() == 1


def test_enrolled_mfa_is_required_to_request(client, request_data) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.get("/habilitation/demande/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/")
    enrol_totp(user)
    assert client.get("/habilitation/demande/").status_code == 200
