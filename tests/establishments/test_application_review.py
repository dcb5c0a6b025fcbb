"""Regional administrators review declarations: queue, proof, approval, refusal, e-mails."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from establishments.models import DirectorApplication, Establishment, Membership
from establishments.services import (
    director_application_approve,
    director_application_reject,
    director_application_withdraw,
)
from portal.roles import Role, has_role
from tests.establishments.factories import (
    NEW_FINESS_EG,
    PDF_BYTES,
    PNG_BYTES,
    FinessEntryFactory,
    proof_file,
    submit_application,
)
from tests.factories import UserFactory, enrol_totp, with_luhn

pytestmark = pytest.mark.django_db

QUEUE = reverse("establishments:application_list")


def _url(name: str, application: DirectorApplication) -> str:
    return reverse(f"establishments:{name}", args=[application.pk])


@pytest.fixture
def application(applicant) -> DirectorApplication:
    return submit_application(applicant)


# --- Who may see the queue ---------------------------------------------------------------------


def test_regional_admins_see_the_queue(client_for, regional_admin, application) -> None:
    page = client_for(regional_admin).get(QUEUE).content.decode()
    assert "<h1>Demandes d'adhésion</h1>" in page
    assert "Clinique des Vosges" in page
    assert "Claire Candidate" in page


@pytest.mark.parametrize("role", ["auditor", "director", "referent", "practitioner", "applicant"])
def test_other_roles_are_refused_the_queue(request, client_for, role, application) -> None:
    user = request.getfixturevalue(role)
    client = client_for(user)
    assert client.get(QUEUE).status_code == 403
    assert client.get(_url("application_detail", application)).status_code == 403
    assert client.get(_url("application_proof", application)).status_code == 403
    assert client.post(_url("application_approve", application)).status_code == 403
    assert client.post(_url("application_reject", application), {"reason": "x"}).status_code == 403
    application.refresh_from_db()
    assert application.status == DirectorApplication.Status.SUBMITTED


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, application) -> None:
    for url in (
        QUEUE,
        _url("application_detail", application),
        _url("application_proof", application),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_the_queue_lists_only_open_declarations_by_default(
    client_for, regional_admin, applicant, outsider
) -> None:
    submit_application(applicant)
    rejected = submit_application(outsider, finess_eg=with_luhn("88000003"), name="Refusée SA")
    director_application_reject(application=rejected, reviewer=regional_admin, reason="Doublon")
    client = client_for(regional_admin)
    page = client.get(QUEUE).content.decode()
    assert "Clinique des Vosges" in page
    assert "Refusée SA" not in page
    every = client.get(QUEUE, {"statut": "toutes"}).content.decode()
    assert "Refusée SA" in every


def test_the_queue_flags_an_establishment_that_already_has_a_director(
    client_for, regional_admin, applicant, director, hospital
) -> None:
    submit_application(applicant, finess_eg=hospital.finess_eg, name=hospital.name)
    page = client_for(regional_admin).get(QUEUE).content.decode()
    assert "L'établissement a déjà un directeur" in page
    detail = client_for(regional_admin).get(
        _url("application_detail", DirectorApplication.objects.get())
    )
    assert "Cet établissement a déjà une direction sur le portail" in detail.content.decode()
    assert "bob.directeur@chr.test" in detail.content.decode()


def test_the_queue_costs_a_bounded_number_of_queries(
    client_for, regional_admin, django_assert_max_num_queries
) -> None:
    for number in range(30):
        user = UserFactory()
        submit_application(
            user, finess_eg=with_luhn(f"8810{number:04d}"), name=f"Clinique {number}"
        )
    client = client_for(regional_admin)
    with django_assert_max_num_queries(12):
        response = client.get(QUEUE)
    assert response.content.decode().count("/adhesion/demandes/") >= 25


# --- The proof ---------------------------------------------------------------------------------


def test_regional_admins_download_the_proof_as_an_attachment(
    client_for, regional_admin, application
) -> None:
    response = client_for(regional_admin).get(_url("application_proof", application))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"justificatif-demande-{application.pk}.pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_the_proof_keeps_its_detected_type(client_for, regional_admin, outsider) -> None:
    application = submit_application(
        outsider, proof=proof_file(PNG_BYTES, "scan.pdf", "application/pdf")
    )
    response = client_for(regional_admin).get(_url("application_proof", application))
    assert response["Content-Type"] == "image/png"
    assert ".png" in response["Content-Disposition"]


def test_a_missing_proof_file_answers_404(client_for, regional_admin, application) -> None:
    application.proof.storage.delete(application.proof.name)
    assert client_for(regional_admin).get(_url("application_proof", application)).status_code == 404


# --- Approval ----------------------------------------------------------------------------------


def test_approval_creates_the_establishment_as_prospect_and_its_director(
    client_for, regional_admin, application, applicant
) -> None:
    response = client_for(regional_admin).post(_url("application_approve", application))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DirectorApplication.Status.APPROVED
    assert application.decided_by == regional_admin
    assert application.decided_at is not None
    establishment = Establishment.objects.get(finess_eg=NEW_FINESS_EG)
    assert application.establishment == establishment
    assert establishment.status == Establishment.Status.PROSPECT
    assert establishment.name == "Clinique des Vosges"
    assert establishment.department == "88"
    assert (
        Membership.objects.active()
        .filter(user=applicant, establishment=establishment, role=Membership.Role.DIRECTOR)
        .exists()
    )
    fresh = type(applicant).objects.get(pk=applicant.pk)
    assert has_role(fresh, Role.DIRECTOR)


def test_approval_joins_an_existing_establishment_without_changing_it(
    regional_admin, applicant, hospital, director
) -> None:
    application = submit_application(applicant, finess_eg=hospital.finess_eg, name="Autre nom")
    director_application_approve(application=application, reviewer=regional_admin)
    hospital.refresh_from_db()
    assert hospital.name == "CHR Metz-Thionville"
    assert hospital.status == Establishment.Status.MEMBER
    assert Establishment.objects.filter(finess_eg=hospital.finess_eg).count() == 1
    assert application.establishment == hospital
    directors = Membership.objects.active().filter(
        establishment=hospital, role=Membership.Role.DIRECTOR
    )
    assert set(directors.values_list("user__email", flat=True)) == {
        "bob.directeur@chr.test",
        applicant.email,
    }


def test_approval_takes_the_department_from_the_finess_reference(regional_admin, applicant) -> None:
    entry = FinessEntryFactory(department="2B", postal_code="20200", city="BASTIA")
    application = submit_application(
        applicant, finess_eg=entry.finess, finess_entry=entry, postal_code="20200"
    )
    director_application_approve(application=application, reviewer=regional_admin)
    assert application.establishment is not None
    assert application.establishment.department == "2B"


def test_approving_twice_is_refused(client_for, regional_admin, application) -> None:
    director_application_approve(application=application, reviewer=regional_admin)
    with pytest.raises(ValidationError, match="déjà été décidée"):
        director_application_approve(application=application, reviewer=regional_admin)
    client = client_for(regional_admin)
    response = client.post(_url("application_approve", application), follow=True)
    assert "ne peut pas l&#x27;être une seconde fois" in response.content.decode()
    assert (
        Membership.objects.filter(role=Membership.Role.DIRECTOR, user=application.applicant).count()
        == 1
    )


def test_rejecting_an_approved_declaration_is_refused(regional_admin, application) -> None:
    director_application_approve(application=application, reviewer=regional_admin)
    with pytest.raises(ValidationError, match="déjà été décidée"):
        director_application_reject(application=application, reviewer=regional_admin, reason="Non")
    application.refresh_from_db()
    assert application.status == DirectorApplication.Status.APPROVED


def test_approving_a_rejected_declaration_is_refused(regional_admin, application) -> None:
    director_application_reject(application=application, reviewer=regional_admin, reason="Faux")
    with pytest.raises(ValidationError, match="déjà été décidée"):
        director_application_approve(application=application, reviewer=regional_admin)
    assert not Membership.objects.filter(user=application.applicant).exists()


def test_deciding_a_withdrawn_declaration_is_refused(
    client_for, regional_admin, application, applicant
) -> None:
    director_application_withdraw(application=application, by=applicant)
    with pytest.raises(ValidationError, match="retirée par son auteur"):
        director_application_approve(application=application, reviewer=regional_admin)
    with pytest.raises(ValidationError, match="retirée par son auteur"):
        director_application_reject(application=application, reviewer=regional_admin, reason="x")
    response = client_for(regional_admin).post(
        _url("application_approve", application), follow=True
    )
    assert "retirée par son auteur" in response.content.decode()
    assert not Establishment.objects.filter(finess_eg=application.finess_eg).exists()


def test_withdrawing_a_decided_declaration_is_refused(
    regional_admin, application, applicant
) -> None:
    director_application_approve(application=application, reviewer=regional_admin)
    with pytest.raises(ValidationError, match="Seule une demande en attente"):
        director_application_withdraw(application=application, by=applicant)


def test_only_the_applicant_may_withdraw(application, outsider) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        director_application_withdraw(application=application, by=outsider)


# --- Refusal -----------------------------------------------------------------------------------


def test_refusal_records_the_reason(client_for, regional_admin, application) -> None:
    response = client_for(regional_admin).post(
        _url("application_reject", application), {"reason": "Justificatif illisible."}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DirectorApplication.Status.REJECTED
    assert application.rejection_reason == "Justificatif illisible."
    assert application.decided_by == regional_admin
    assert not Membership.objects.filter(user=application.applicant).exists()


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_refusal_without_a_reason_is_refused(
    client_for, regional_admin, application, reason
) -> None:
    response = client_for(regional_admin).post(
        _url("application_reject", application), {"reason": reason}
    )
    assert response.status_code == 400
    assert "Indiquez le motif du refus" in response.content.decode()
    with pytest.raises(ValidationError, match="Indiquez le motif du refus"):
        director_application_reject(application=application, reviewer=regional_admin, reason=reason)
    application.refresh_from_db()
    assert application.status == DirectorApplication.Status.SUBMITTED


def test_the_database_refuses_a_refusal_without_reason(application) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        DirectorApplication.objects.filter(pk=application.pk).update(
            status=DirectorApplication.Status.REJECTED, rejection_reason=""
        )


# --- E-mails -----------------------------------------------------------------------------------


def test_submission_acknowledges_and_tells_every_regional_admin(
    client_for, applicant, regional_admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    second_admin = UserFactory(email="bruno.admin@ars.test")
    enrol_totp(second_admin)
    from portal.services import user_grant_group_role

    user_grant_group_role(user=second_admin, role=Role.REGIONAL_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(applicant).post(
            reverse("establishments:declare"),
            {
                "finess_eg": NEW_FINESS_EG,
                "name": "Clinique des Vosges",
                "kind": Establishment.Kind.PRIVATE_CLINIC,
                "postal_code": "88000",
                "city": "Épinal",
                "function": "Directrice générale",
                "proof": proof_file(),
            },
        )
    assert response.status_code == 302
    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {applicant.email, regional_admin.email, second_admin.email}
    acknowledgement = by_recipient[applicant.email]
    assert acknowledgement.subject == "[Portail imagerie] Votre demande d'adhésion a bien été reçue"
    assert "Clinique des Vosges" in acknowledgement.body
    notice = by_recipient[regional_admin.email]
    assert notice.subject == "[Portail imagerie] Nouvelle demande d'adhésion à examiner"
    application = DirectorApplication.objects.get()
    assert f"http://testserver/adhesion/demandes/{application.pk}/" in notice.body
    assert "Directrice générale" in notice.body


def test_approval_is_mailed_to_the_applicant(
    client_for, regional_admin, application, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(regional_admin).post(_url("application_approve", application))
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [application.applicant.email]
    assert message.subject == "[Portail imagerie] Votre demande d'adhésion est approuvée"
    application.refresh_from_db()
    assert f"http://testserver/mon-etablissement/{application.establishment_id}/" in message.body


def test_refusal_is_mailed_with_its_reason(
    client_for, regional_admin, application, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(regional_admin).post(
            _url("application_reject", application), {"reason": "Signature manquante."}
        )
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [application.applicant.email]
    assert "n'a pas été acceptée" in message.subject
    assert "Signature manquante." in message.body


def test_a_refused_decision_sends_no_mail(
    regional_admin, application, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    director_application_approve(application=application, reviewer=regional_admin)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        director_application_approve(application=application, reviewer=regional_admin)
    assert mailoutbox == []
