"""The life of an accreditation: suspension and revocation (at once), reinstatement, renewal,
the renewal reminder (once), expiry on its date, and the reviewers' page that drives them."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.roles import Role, forget_roles, has_role
from practitioners.models import Accreditation, AccreditationEvent
from practitioners.selectors import is_in_care_team
from practitioners.services import (
    accreditation_reinstate,
    accreditation_renew,
    accreditation_request_renewal,
    accreditation_revoke,
    accreditation_suspend,
    accreditations_expire,
    accreditations_send_renewal_reminders,
)
from tests.factories import AccreditationFactory

pytestmark = pytest.mark.django_db

Kind = AccreditationEvent.Kind
TODAY = timezone.localdate()


def _accreditation(user) -> Accreditation:
    return user.practitioner.accreditations.get()


def _kinds(user) -> list[str]:
    return list(
        AccreditationEvent.objects.filter(practitioner__user=user)
        .order_by("id")
        .values_list("kind", flat=True)
    )


# --- Suspension, reinstatement, revocation ---------------------------------------------------


def test_a_suspension_takes_effect_at_once(
    care_team_practitioner, referent, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    user = care_team_practitioner
    assert has_role(user, Role.PRACTITIONER)
    with django_capture_on_commit_callbacks(execute=True):
        accreditation_suspend(
            accreditation=_accreditation(user), by=referent, reason="Enquête interne"
        )
    forget_roles(user)
    assert not has_role(user, Role.PRACTITIONER)
    assert not is_in_care_team(user=user, establishment=hospital)
    accreditation = _accreditation(user)
    assert (accreditation.status, accreditation.status_reason) == ("suspended", "Enquête interne")
    assert _kinds(user) == [Kind.SUSPENDED]
    [message] = mailoutbox
    assert message.to == [user.email]
    assert "suspendue" in message.subject
    assert "Enquête interne" in message.body


def test_a_suspension_needs_a_reason_and_an_active_accreditation(practitioner, referent) -> None:
    accreditation = _accreditation(practitioner)
    with pytest.raises(ValidationError):
        accreditation_suspend(accreditation=accreditation, by=referent, reason=" ")
    accreditation_suspend(accreditation=accreditation, by=referent, reason="Motif")
    with pytest.raises(ValidationError, match="active"):
        accreditation_suspend(accreditation=accreditation, by=referent, reason="Encore")


def test_reinstating_gives_the_role_back(practitioner, referent) -> None:
    accreditation = _accreditation(practitioner)
    accreditation_suspend(accreditation=accreditation, by=referent, reason="Enquête")
    accreditation_reinstate(accreditation=accreditation, by=referent, reason="Levée")
    forget_roles(practitioner)
    assert has_role(practitioner, Role.PRACTITIONER)
    assert _kinds(practitioner) == [Kind.SUSPENDED, Kind.REINSTATED]
    with pytest.raises(ValidationError):
        accreditation_reinstate(accreditation=accreditation, by=referent)


def test_a_revocation_is_final_and_immediate(practitioner, regional_admin) -> None:
    accreditation = _accreditation(practitioner)
    accreditation_revoke(accreditation=accreditation, by=regional_admin, reason="Radiation")
    forget_roles(practitioner)
    assert not has_role(practitioner, Role.PRACTITIONER)
    with pytest.raises(ValidationError):
        accreditation_reinstate(accreditation=accreditation, by=regional_admin)
    with pytest.raises(ValidationError):
        accreditation_renew(accreditation=accreditation, by=regional_admin)
    with pytest.raises(ValidationError):
        accreditation_revoke(accreditation=accreditation, by=regional_admin, reason="Encore")


def test_an_expired_accreditation_is_no_practitioner_role(practitioner) -> None:
    Accreditation.objects.update(valid_until=timezone.localdate() - datetime.timedelta(days=1))
    assert not has_role(practitioner, Role.PRACTITIONER)


# --- Renewal ---------------------------------------------------------------------------------


def test_renewal_adds_a_period_after_the_current_one(
    practitioner, referent, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    current = _accreditation(practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        renewed = accreditation_renew(accreditation=current, by=referent)
    assert renewed.valid_from == current.valid_until + datetime.timedelta(days=1)
    assert renewed.valid_until == renewed.valid_from + datetime.timedelta(days=365)
    assert renewed.granted_by == referent
    assert "renouvelée" in mailoutbox[0].subject
    with pytest.raises(ValidationError, match="déjà été renouvelée"):
        accreditation_renew(accreditation=current, by=referent)


def test_renewing_an_expired_accreditation_starts_today(practitioner, referent) -> None:
    current = _accreditation(practitioner)
    Accreditation.objects.filter(pk=current.pk).update(
        valid_from=datetime.date(2020, 1, 1),
        valid_until=datetime.date(2021, 1, 1),
        status="expired",
    )
    current.refresh_from_db()
    renewed = accreditation_renew(accreditation=current, by=referent)
    assert renewed.valid_from == timezone.localdate()
    forget_roles(practitioner)
    assert has_role(practitioner, Role.PRACTITIONER)


def test_the_practitioner_asks_for_renewal_once(
    care_team_practitioner, referent, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    accreditation = _accreditation(care_team_practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditation_request_renewal(
            accreditation=accreditation, user=care_team_practitioner
        )
        assert not accreditation_request_renewal(
            accreditation=accreditation, user=care_team_practitioner
        )
    [message] = mailoutbox
    assert message.to == [referent.email]
    assert "renouvellement" in message.subject
    with pytest.raises(ValidationError):
        accreditation_request_renewal(accreditation=accreditation, user=referent)


# --- Reminder and expiry (the scheduled services) --------------------------------------------


def test_the_reminder_goes_once_within_the_window(
    practitioner, outsider, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    Accreditation.objects.filter(practitioner__user=practitioner).update(
        valid_until=TODAY + datetime.timedelta(days=30)
    )
    Accreditation.objects.filter(practitioner__user=outsider).update(
        valid_until=TODAY + datetime.timedelta(days=31)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditations_send_renewal_reminders(today=TODAY) == 1
        assert accreditations_send_renewal_reminders(today=TODAY) == 0
        assert accreditations_send_renewal_reminders(today=TODAY + datetime.timedelta(days=2)) == 1
    assert [m.to for m in mailoutbox] == [[practitioner.email], [outsider.email]]
    assert "arrive à échéance" in mailoutbox[0].subject
    assert "demandez son renouvellement" in mailoutbox[0].body
    assert _kinds(practitioner) == [Kind.REMINDER_SENT]


def test_the_reminder_window_is_configurable(practitioner, settings) -> None:
    settings.ACCREDITATION_REMINDER_DAYS = 60
    Accreditation.objects.update(valid_until=TODAY + datetime.timedelta(days=45))
    assert accreditations_send_renewal_reminders(today=TODAY) == 1


def test_no_reminder_for_a_renewed_suspended_or_ended_accreditation(
    practitioner, outsider, referent
) -> None:
    Accreditation.objects.update(valid_until=TODAY + datetime.timedelta(days=10))
    current = _accreditation(practitioner)
    AccreditationFactory(
        practitioner=practitioner.practitioner,
        valid_from=current.valid_until + datetime.timedelta(days=1),
        valid_until=current.valid_until + datetime.timedelta(days=366),
    )
    Accreditation.objects.filter(practitioner__user=outsider).update(status="suspended")
    assert accreditations_send_renewal_reminders(today=TODAY) == 0


def test_accreditations_expire_on_their_date(
    practitioner, outsider, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    Accreditation.objects.filter(practitioner__user=practitioner).update(valid_until=TODAY)
    Accreditation.objects.filter(practitioner__user=outsider).update(
        valid_until=TODAY - datetime.timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditations_expire(today=TODAY) == 1
        assert accreditations_expire(today=TODAY) == 0
    assert _accreditation(outsider).status == "expired"
    assert _accreditation(practitioner).status == "active"  # its last day is today
    assert [m.to for m in mailoutbox] == [[outsider.email]]
    assert "a expiré" in mailoutbox[0].subject
    assert _kinds(outsider) == [Kind.EXPIRED]
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditations_expire(today=TODAY + datetime.timedelta(days=1)) == 1


def test_an_expiry_followed_by_a_renewal_sends_no_mail(
    practitioner, referent, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    current = _accreditation(practitioner)
    accreditation_renew(accreditation=current, by=referent)
    day_after = current.valid_until + datetime.timedelta(days=1)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert accreditations_expire(today=day_after) == 1
    assert mailoutbox == []


# --- The reviewers' page of a practitioner ---------------------------------------------------


def _page(practitioner_user) -> str:
    return f"/professionnels/{practitioner_user.practitioner.pk}/"


def test_the_referent_of_their_establishment_manages_them(
    client_for, referent, care_team_practitioner
) -> None:
    client = client_for(referent)
    page = client.get(_page(care_team_practitioner)).content.decode()
    assert "Suspendre" in page
    assert "Révoquer" in page
    accreditation = _accreditation(care_team_practitioner)
    url = f"{_page(care_team_practitioner)}habilitations/{accreditation.pk}/suspendre/"
    response = client.post(url, {"reason": "Absence prolongée"}, follow=True)
    assert "Habilitation suspendue" in response.content.decode()
    assert _accreditation(care_team_practitioner).status == "suspended"
    assert "Habilitation suspendue" in client.get(_page(care_team_practitioner)).content.decode()


def test_a_suspension_without_reason_is_refused_on_the_page(
    client_for, referent, care_team_practitioner
) -> None:
    accreditation = _accreditation(care_team_practitioner)
    url = f"{_page(care_team_practitioner)}habilitations/{accreditation.pk}/suspendre/"
    response = client_for(referent).post(url, {"reason": ""}, follow=True)
    assert "Le motif est obligatoire." in response.content.decode()
    assert _accreditation(care_team_practitioner).status == "active"


@pytest.mark.parametrize("who", ["other_referent", "director", "outsider", "auditor"])
def test_others_cannot_manage_a_practitioner(request, client_for, care_team_practitioner, who):
    client = client_for(request.getfixturevalue(who))
    accreditation = _accreditation(care_team_practitioner)
    assert client.get(_page(care_team_practitioner)).status_code == 404
    for action in ("suspendre", "revoquer", "renouveler"):
        url = f"{_page(care_team_practitioner)}habilitations/{accreditation.pk}/{action}/"
        assert client.post(url, {"reason": "x"}).status_code == 404
    assert _accreditation(care_team_practitioner).status == "active"


def test_practitioners_do_not_manage_themselves(client_for, care_team_practitioner) -> None:
    response = client_for(care_team_practitioner).get(_page(care_team_practitioner))
    assert response.status_code == 404


def test_a_city_practitioner_is_managed_by_regional_admins_only(
    client_for, outsider, regional_admin, referent
) -> None:
    assert client_for(referent).get(_page(outsider)).status_code == 404
    client = client_for(regional_admin)
    assert client.get(_page(outsider)).status_code == 200
    accreditation = _accreditation(outsider)
    client.post(f"{_page(outsider)}habilitations/{accreditation.pk}/revoquer/", {"reason": "Fin"})
    assert _accreditation(outsider).status == "revoked"


def test_renewing_from_the_page(client_for, regional_admin, outsider) -> None:
    accreditation = _accreditation(outsider)
    response = client_for(regional_admin).post(
        f"{_page(outsider)}habilitations/{accreditation.pk}/renouveler/", follow=True
    )
    assert "Habilitation renouvelée jusqu" in response.content.decode()
    assert outsider.practitioner.accreditations.count() == 2


def test_an_unknown_action_is_a_404(client_for, regional_admin, outsider) -> None:
    accreditation = _accreditation(outsider)
    url = f"{_page(outsider)}habilitations/{accreditation.pk}/effacer/"
    assert client_for(regional_admin).post(url).status_code == 404


def test_my_accreditation_page_offers_renewal(client_for, care_team_practitioner) -> None:
    client = client_for(care_team_practitioner)
    page = client.get("/mon-habilitation/").content.decode()
    assert "Habilitation active du" in page
    assert "CHR Metz-Thionville" in page
    assert "Demander le renouvellement" in page
    response = client.post("/mon-habilitation/renouvellement/", follow=True)
    assert "demande de renouvellement est transmise" in response.content.decode()
    assert "Renouvellement demandé le" in client.get("/mon-habilitation/").content.decode()


def test_renewal_request_needs_an_accreditation(client_for, applicant) -> None:
    assert client_for(applicant).post("/mon-habilitation/renouvellement/").status_code == 404
