"""The technical admin shows establishments' models read-mostly, never the proof or token."""

from __future__ import annotations

import pytest

from establishments.models import DirectorApplication, Invitation
from tests.establishments.factories import invite, submit_application
from tests.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    user = UserFactory(email="root@gcs.test")
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    enrol_totp(user)
    return user


def test_every_list_page_opens(client_for, superuser, hospital, director, applicant) -> None:
    submit_application(applicant)
    invite(hospital, director)
    client = client_for(superuser)
    for model in (
        "establishment",
        "membership",
        "directorapplication",
        "invitation",
        "finessentry",
        "establishmentstatuschange",
    ):
        response = client.get(f"/admin/establishments/{model}/")
        expected = 404 if model == "establishmentstatuschange" else 200
        assert response.status_code == expected, model


def test_applications_and_invitations_cannot_be_added_nor_show_secrets(
    client_for, superuser, hospital, director, applicant
) -> None:
    application = submit_application(applicant)
    invitation, token = invite(hospital, director)
    client = client_for(superuser)
    assert client.get("/admin/establishments/directorapplication/add/").status_code == 403
    assert client.get("/admin/establishments/invitation/add/").status_code == 403
    page = client.get(
        f"/admin/establishments/directorapplication/{application.pk}/change/"
    ).content.decode()
    assert application.proof.name not in page
    page = client.get(f"/admin/establishments/invitation/{invitation.pk}/change/").content.decode()
    assert invitation.token_hash not in page
    assert token not in page
    assert DirectorApplication.objects.count() == 1
    assert Invitation.objects.count() == 1


def test_the_establishment_status_is_read_only_in_the_admin(
    client_for, superuser, hospital
) -> None:
    page = (
        client_for(superuser)
        .get(f"/admin/establishments/establishment/{hospital.pk}/change/")
        .content.decode()
    )
    assert 'name="status"' not in page
    assert 'name="name"' in page
