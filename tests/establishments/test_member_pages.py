""" "Mon établissement": directors manage their team, referents read it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from establishments.models import Establishment, Invitation, Membership
from establishments.services import membership_end
from tests.establishments.factories import invite
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

MINE = reverse("establishments:mine")


def _detail(establishment: Establishment) -> str:
    return reverse("establishments:member_detail", args=[establishment.pk])


def _remove(membership: Membership) -> str:
    return reverse(
        "establishments:member_remove", args=[membership.establishment_id, membership.pk]
    )


@pytest.fixture
def other_director(db: None):
    user = UserFactory(email="eve.directrice@ailleurs.test", first_name="Ève", last_name="Ailleurs")
    enrol_totp(user)
    MembershipFactory(
        user=user,
        establishment=EstablishmentFactory(name="Clinique d'ailleurs"),
        role=Membership.Role.DIRECTOR,
    )
    return user


# --- Seeing it ---------------------------------------------------------------------------------


def test_a_director_of_one_establishment_goes_straight_to_it(
    client_for, director, hospital
) -> None:
    response = client_for(director).get(MINE)
    assert response.status_code == 302
    assert response["Location"] == _detail(hospital)


def test_a_director_sees_identity_members_invitations_and_the_invite_form(
    client_for, director, referent, practitioner, hospital
) -> None:
    invite(hospital, director, email="invitee@chr.test")
    response = client_for(director).get(_detail(hospital))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>CHR Metz-Thionville</h1>" in page
    assert hospital.finess_eg in page
    for name in ("Bob Directeur", "Rose Référente", "Charlie Radiologue"):
        assert name in page
    assert "invitee@chr.test" in page
    assert 'id="id_email"' in page
    assert 'id="id_role"' in page
    assert "Envoyer l'invitation" in page
    assert "Retirer" in page


def test_a_director_of_several_establishments_chooses_one(client_for, director, hospital) -> None:
    second = EstablishmentFactory(name="CH de Briey")
    MembershipFactory(user=director, establishment=second, role=Membership.Role.DIRECTOR)
    response = client_for(director).get(MINE)
    assert response.status_code == 200
    page = response.content.decode()
    assert _detail(hospital) in page
    assert _detail(second) in page


def test_a_referent_reads_their_establishment_without_managing_it(
    client_for, director, referent, hospital
) -> None:
    invite(hospital, director, email="invitee@chr.test")
    response = client_for(referent).get(_detail(hospital))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bob Directeur" in page
    assert "lecture seule" in page
    assert "invitee@chr.test" not in page
    assert 'id="id_email"' not in page
    assert "/retirer/" not in page


def test_a_director_of_another_establishment_gets_404(client_for, other_director, hospital) -> None:
    assert client_for(other_director).get(_detail(hospital)).status_code == 404


@pytest.mark.parametrize(
    "role", ["regional_admin", "auditor", "practitioner", "outsider", "patient", "applicant"]
)
def test_other_roles_are_refused(request, client_for, role, hospital) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.get(MINE).status_code == 403
    assert client.get(_detail(hospital)).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, hospital) -> None:
    for url in (MINE, _detail(hospital)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_the_page_costs_a_bounded_number_of_queries(
    client_for, director, hospital, django_assert_max_num_queries
) -> None:
    MembershipFactory.create_batch(25, establishment=hospital)
    for number in range(10):
        invite(hospital, director, email=f"invite{number}@chr.test")
    client = client_for(director)
    with django_assert_max_num_queries(14):
        assert client.get(_detail(hospital)).status_code == 200


# --- Removing members --------------------------------------------------------------------------


def test_a_director_removes_a_member_softly(client_for, director, referent, hospital) -> None:
    membership = Membership.objects.get(user=referent)
    response = client_for(director).post(_remove(membership))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.ended_at is not None
    assert membership.ended_by == director
    assert not Membership.objects.active().filter(user=referent).exists()
    page = client_for(director).get(_detail(hospital)).content.decode()
    assert "Rose Référente ne fait plus partie" in page  # the confirmation
    assert '<th scope="row">Rose Référente</th>' not in page
    assert '<th scope="row">Bob Directeur</th>' in page


def test_the_last_director_cannot_remove_themselves(client_for, director, hospital) -> None:
    membership = Membership.objects.get(user=director)
    response = client_for(director).post(_remove(membership), follow=True)
    assert "doit garder au moins un directeur" in response.content.decode()
    membership.refresh_from_db()
    assert membership.ended_at is None


def test_a_director_may_leave_when_another_director_remains(client_for, director, hospital) -> None:
    MembershipFactory(establishment=hospital, role=Membership.Role.DIRECTOR)
    membership = Membership.objects.get(user=director)
    response = client_for(director).post(_remove(membership))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    membership.refresh_from_db()
    assert membership.ended_at is not None


def test_removing_twice_is_refused(director, referent) -> None:
    membership = Membership.objects.get(user=referent)
    membership_end(membership=membership, by=director)
    with pytest.raises(ValidationError, match="déjà pris fin"):
        membership_end(membership=membership, by=director)


def test_a_referent_may_not_remove_members(client_for, referent, practitioner, hospital) -> None:
    membership = Membership.objects.get(user=practitioner)
    assert client_for(referent).post(_remove(membership)).status_code == 403
    membership.refresh_from_db()
    assert membership.ended_at is None


def test_a_director_of_another_establishment_may_not_remove_members(
    client_for, other_director, referent, hospital
) -> None:
    membership = Membership.objects.get(user=referent)
    client = client_for(other_director)
    assert client.post(_remove(membership)).status_code == 404
    own = Membership.objects.get(user=other_director)
    sneaky = reverse("establishments:member_remove", args=[own.establishment_id, membership.pk])
    assert client.post(sneaky).status_code == 404
    membership.refresh_from_db()
    assert membership.ended_at is None


def test_a_removed_member_can_be_invited_again(director, referent, hospital) -> None:
    membership_end(membership=Membership.objects.get(user=referent), by=director)
    invitation, _token = invite(hospital, director, email=referent.email)
    assert invitation.role == Invitation.Role.REFERENT
