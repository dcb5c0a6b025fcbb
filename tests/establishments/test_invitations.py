"""Directors invite referents and staff by e-mail; the invited person accepts, once."""

from __future__ import annotations

import datetime
import hashlib
from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from establishments.models import Invitation, Membership
from establishments.services import invitation_accept, invitation_create, invitation_revoke
from portal.roles import Role, has_role
from tests.establishments.factories import invite
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

INVITEE_EMAIL = "nouvelle.referente@chr.test"


def _accept_url(token: str) -> str:
    return reverse("establishments:invitation_accept", kwargs={"token": token})


def _invite_url(establishment) -> str:
    return reverse("establishments:invite", args=[establishment.pk])


@pytest.fixture
def invitee(db: None):
    user = UserFactory(email=INVITEE_EMAIL, first_name="Nina", last_name="Nouvelle")
    enrol_totp(user)
    return user


# --- Sending -----------------------------------------------------------------------------------


def test_a_director_invites_by_email_with_a_link_holding_the_raw_token(
    client_for, director, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(director).post(
            _invite_url(hospital), {"email": INVITEE_EMAIL, "role": Invitation.Role.REFERENT}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.establishment == hospital
    assert invitation.email == INVITEE_EMAIL
    assert invitation.role == Invitation.Role.REFERENT
    assert invitation.invited_by == director
    validity = invitation.expires_at - invitation.created_at
    assert datetime.timedelta(days=13, hours=23) < validity <= datetime.timedelta(days=14)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [INVITEE_EMAIL]
    assert "CHR Metz-Thionville" in message.subject
    link = next(line for line in message.body.splitlines() if "/invitations/" in line)
    assert link.startswith("http://testserver/invitations/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Only the hash is stored.
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert len(token) >= 40


def test_the_validity_follows_the_setting(director, hospital, settings) -> None:
    settings.INVITATION_VALIDITY_DAYS = 3
    invitation, _token = invite(hospital, director)
    assert invitation.expires_at - invitation.created_at <= datetime.timedelta(days=3)
    assert invitation.expires_at - invitation.created_at > datetime.timedelta(days=2)


def test_a_new_invitation_replaces_the_open_one(director, hospital) -> None:
    first, _first_token = invite(hospital, director)
    second, _token = invite(hospital, director, email=INVITEE_EMAIL.upper())
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.revoked_at is None
    assert Invitation.objects.pending().get() == second


def test_it_refuses_inviting_someone_who_already_holds_the_role(
    client_for, director, referent, hospital
) -> None:
    response = client_for(director).post(
        _invite_url(hospital), {"email": referent.email, "role": Invitation.Role.REFERENT}
    )
    assert response.status_code == 400
    assert "déjà rattachée à l&#x27;établissement" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "pas-une-adresse", "role": "referent"}, "Saisissez une adresse e-mail valide."),
        ({"email": INVITEE_EMAIL, "role": "director"}, "Sélectionnez un choix valide"),
    ],
)
def test_it_refuses_a_bad_invitation_form(client_for, director, hospital, data, message) -> None:
    response = client_for(director).post(_invite_url(hospital), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_service_refuses_inviting_a_director(director, hospital) -> None:
    with pytest.raises(ValidationError):
        invitation_create(
            establishment=hospital, email=INVITEE_EMAIL, role="director", invited_by=director
        )


def test_a_referent_may_not_invite(client_for, referent, hospital) -> None:
    response = client_for(referent).post(
        _invite_url(hospital), {"email": INVITEE_EMAIL, "role": Invitation.Role.STAFF}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_a_director_of_another_establishment_may_not_invite(client_for, hospital) -> None:
    other_director = UserFactory()
    enrol_totp(other_director)
    MembershipFactory(
        user=other_director, establishment=EstablishmentFactory(), role=Membership.Role.DIRECTOR
    )
    response = client_for(other_director).post(
        _invite_url(hospital), {"email": INVITEE_EMAIL, "role": Invitation.Role.STAFF}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["regional_admin", "practitioner", "outsider", "applicant"])
def test_other_roles_may_not_invite(request, client_for, role, hospital) -> None:
    response = client_for(request.getfixturevalue(role)).post(
        _invite_url(hospital), {"email": INVITEE_EMAIL, "role": Invitation.Role.STAFF}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_anonymous_visitors_may_not_invite(client: Client, hospital) -> None:
    response = client.post(_invite_url(hospital), {"email": INVITEE_EMAIL, "role": "staff"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Invitation.objects.exists()


# --- Accepting ---------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(
    client: Client, director, hospital
) -> None:
    _invitation, token = invite(hospital, director)
    url = _accept_url(token)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={quote(url)}"
    # The sign-in page offers sign-up with the same way back.
    login_page = client.get(response["Location"]).content.decode()
    assert f"{reverse('account_signup')}?next={quote(url, safe='')}" in login_page


def test_the_invited_person_sees_the_invitation_then_accepts(
    client_for, director, hospital, invitee
) -> None:
    invitation, token = invite(hospital, director)
    client = client_for(invitee)
    page = client.get(_accept_url(token)).content.decode()
    assert "Invitation à rejoindre CHR Metz-Thionville" in page
    assert "Accepter l'invitation" in page
    # Looking at it changes nothing.
    assert not Membership.objects.filter(user=invitee).exists()
    response = client.post(_accept_url(token))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == invitee
    membership = Membership.objects.active().get(user=invitee)
    assert (membership.establishment, membership.role) == (hospital, Membership.Role.REFERENT)
    assert has_role(type(invitee).objects.get(pk=invitee.pk), Role.REFERENT)


def test_a_staff_invitation_makes_a_staff_member(director, hospital, invitee) -> None:
    invitation, _token = invite(hospital, director, role=Invitation.Role.STAFF)
    membership = invitation_accept(invitation=invitation, user=invitee)
    assert membership.role == Membership.Role.STAFF


def test_the_email_may_be_any_verified_address_of_the_account(director, hospital) -> None:
    user = UserFactory(email="nina.perso@exemple.test")
    EmailAddress.objects.create(user=user, email=INVITEE_EMAIL.upper(), verified=True)
    invitation, _token = invite(hospital, director)
    invitation_accept(invitation=invitation, user=user)
    assert Membership.objects.active().filter(user=user, establishment=hospital).exists()


def test_an_unverified_address_does_not_count(client_for, director, hospital) -> None:
    user = UserFactory(email="nina.perso@exemple.test")
    enrol_totp(user)
    EmailAddress.objects.create(user=user, email=INVITEE_EMAIL, verified=False)
    invitation, token = invite(hospital, director)
    response = client_for(user).post(_accept_url(token))
    assert response.status_code == 403
    assert "envoyée à une autre adresse" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not Membership.objects.filter(user=user).exists()


def test_another_account_is_refused(client_for, director, hospital, outsider) -> None:
    invitation, token = invite(hospital, director)
    client = client_for(outsider)
    get = client.get(_accept_url(token))
    assert get.status_code == 403
    assert "envoyée à une autre adresse" in get.content.decode()
    assert "Accepter l'invitation" not in get.content.decode()
    assert client.post(_accept_url(token)).status_code == 403
    assert not Membership.objects.filter(user=outsider, establishment=hospital).exists()
    with pytest.raises(ValidationError, match="autre adresse"):
        invitation_accept(invitation=invitation, user=outsider)


def test_an_expired_invitation_is_refused(client_for, director, hospital, invitee) -> None:
    invitation, token = invite(hospital, director)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = client_for(invitee).post(_accept_url(token))
    assert response.status_code == 410
    assert "Cette invitation a expiré le" in response.content.decode()
    assert not Membership.objects.filter(user=invitee).exists()
    with pytest.raises(ValidationError, match="expiré"):
        invitation_accept(invitation=invitation, user=invitee)


def test_a_revoked_invitation_is_refused(client_for, director, hospital, invitee) -> None:
    invitation, token = invite(hospital, director)
    invitation_revoke(invitation=invitation, by=director)
    response = client_for(invitee).post(_accept_url(token))
    assert response.status_code == 410
    assert "annulée par la direction" in response.content.decode()
    assert not Membership.objects.filter(user=invitee).exists()


def test_a_used_invitation_is_refused(client_for, director, hospital, invitee, outsider) -> None:
    invitation, token = invite(hospital, director)
    invitation_accept(invitation=invitation, user=invitee)
    client = client_for(invitee)
    response = client.post(_accept_url(token))
    assert response.status_code == 410
    assert "déjà été utilisée" in response.content.decode()
    assert Membership.objects.filter(user=invitee).count() == 1
    with pytest.raises(ValidationError, match="déjà été utilisée"):
        invitation_accept(invitation=invitation, user=invitee)


def test_an_unknown_token_answers_404(client_for, invitee) -> None:
    assert client_for(invitee).get(_accept_url("inconnu")).status_code == 404


def test_accepting_when_already_holding_the_role_adds_nothing(director, hospital, referent) -> None:
    invitation = Invitation.objects.create(
        establishment=hospital,
        email=referent.email,
        role=Invitation.Role.REFERENT,
        token_hash="0" * 64,
        invited_by=director,
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    invitation_accept(invitation=invitation, user=referent)
    assert Membership.objects.filter(user=referent).count() == 1


# --- Revoking ----------------------------------------------------------------------------------


def _revoke_url(invitation: Invitation) -> str:
    return reverse(
        "establishments:invitation_revoke", args=[invitation.establishment_id, invitation.pk]
    )


def test_a_director_revokes_a_pending_invitation(client_for, director, hospital) -> None:
    invitation, _token = invite(hospital, director)
    response = client_for(director).post(_revoke_url(invitation))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert invitation.revoked_by == director


def test_revoking_an_accepted_invitation_is_refused(
    client_for, director, hospital, invitee
) -> None:
    invitation, _token = invite(hospital, director)
    invitation_accept(invitation=invitation, user=invitee)
    response = client_for(director).post(_revoke_url(invitation), follow=True)
    assert "déjà été acceptée" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_revoking_twice_is_refused(director, hospital) -> None:
    invitation, _token = invite(hospital, director)
    invitation_revoke(invitation=invitation, by=director)
    with pytest.raises(ValidationError, match="déjà annulée"):
        invitation_revoke(invitation=invitation, by=director)


def test_a_referent_may_not_revoke(client_for, director, referent, hospital) -> None:
    invitation, _token = invite(hospital, director)
    assert client_for(referent).post(_revoke_url(invitation)).status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_a_director_of_another_establishment_may_not_revoke(client_for, director, hospital) -> None:
    invitation, _token = invite(hospital, director)
    other_director = UserFactory()
    enrol_totp(other_director)
    other = EstablishmentFactory()
    MembershipFactory(user=other_director, establishment=other, role=Membership.Role.DIRECTOR)
    client = client_for(other_director)
    assert client.post(_revoke_url(invitation)).status_code == 404
    # Nor through their own establishment's address.
    sneaky = reverse("establishments:invitation_revoke", args=[other.pk, invitation.pk])
    assert client.post(sneaky).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_database_refuses_an_invitation_both_accepted_and_revoked(director, hospital) -> None:
    from django.db import IntegrityError, transaction

    invitation, _token = invite(hospital, director)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), revoked_at=timezone.now()
        )
