"""The staff sharing screens: a referent or the care team of a producing establishment shares a
patient with a city GP, revokes, and (referents) records the patient's opposition. What they do
is shown to take effect on the GP's next access decision."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.models import AccessGrant, Opposition
from establishments.models import Membership
from portal.models import User
from tests.access.conftest import Record, grant_to, oppose
from tests.access.test_services import other_referent, sees  # noqa: F401 - a shared fixture
from tests.factories import (
    AccreditationFactory,
    MembershipFactory,
    PractitionerFactory,
    UserFactory,
)
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

DENIED = ["gp", "regional_admin", "director", "auditor", "other_referent", "patient"]


def sharing_url(record: Record) -> str:
    return reverse("access:patient-sharing", args=[record.patient.pk])


def grant_data(to: User, **fields: object) -> dict[str, object]:
    last_day = timezone.localdate() + datetime.timedelta(days=30)
    data: dict[str, object] = {
        "practitioner": to.practitioner.pk,
        "reason": AccessGrant.Reason.REFERRAL,
        "last_day": last_day.isoformat(),
        "comment": "",
        "q": "Dehors",
    }
    data.update(fields)
    return data


def text_of(response) -> str:
    return " ".join(html.unescape(response.content.decode()).split())


# --- Who may open the screens -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["referent", "radiologist"])
def test_it_shows_the_patient_and_their_sharing_to_the_producing_establishment(
    request, who, client_for, record, gp, hospital
) -> None:
    referent = request.getfixturevalue("referent")
    grant_to(gp, record.patient, by=referent, comment="Suivi", establishment=hospital)
    response = client_for(request.getfixturevalue(who)).get(sharing_url(record))

    assert response.status_code == 200
    page = text_of(response)
    assert "Partage des images de Hélène DURAND" in page
    assert "17/04/1962" in page
    assert "Le patient ne s'oppose pas au partage de ses images." in page
    assert "Dehors Dan" in page
    assert "En cours" in page
    assert "pour CHR Metz-Thionville" in page
    assert "La révocation est immédiate" in page


@pytest.mark.parametrize("who", DENIED)
def test_it_refuses_the_sharing_page_to_anyone_else(request, who, client_for, record) -> None:
    response = client_for(request.getfixturevalue(who)).get(sharing_url(record))
    assert response.status_code == 403
    assert "DURAND" not in response.content.decode()


def test_it_sends_an_anonymous_visitor_to_sign_in(client, record) -> None:
    response = client.get(sharing_url(record))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_identity_page_leads_the_referent_to_the_sharing_page(
    client_for, referent, record
) -> None:
    identifier = record.patient.identifiers.get(establishment__name="CHR Metz-Thionville")
    page = client_for(referent).get(reverse("imaging:identity_detail", args=[identifier.pk]))
    assert f'href="{sharing_url(record)}"' in page.content.decode()


# --- The journeys -----------------------------------------------------------------------------


def test_a_referent_shares_with_a_gp_then_revokes(
    client_for, referent, record, gp, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    client = client_for(referent)
    found = client.get(sharing_url(record), {"q": "dehors"})
    assert f'value="{gp.practitioner.pk}"' in found.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        shared = client.post(
            reverse("access:grant-create", args=[record.patient.pk]),
            grant_data(gp, comment="Suivi par le médecin traitant"),
        )

    assert shared.status_code == 302
    assert sees(gp, record.patient) == (True, "grant")
    [message] = mailoutbox
    assert message.to == [gp.email]
    grant = AccessGrant.objects.get()
    assert (grant.granted_by, grant.establishment.name, grant.comment) == (
        referent,
        "CHR Metz-Thionville",
        "Suivi par le médecin traitant",
    )
    # The last day chosen is included: the access ends at the following midnight.
    assert timezone.localtime(
        grant.valid_until
    ).date() == timezone.localdate() + datetime.timedelta(days=31)
    assert "Dan Dehors a désormais accès" in text_of(client.get(sharing_url(record)))

    revoked = client.post(
        reverse("access:grant-revoke", args=[grant.pk]), {"reason": "Fin du suivi"}
    )

    assert revoked.status_code == 302
    assert sees(gp, record.patient) == (False, "no_right")
    page = text_of(client.get(sharing_url(record)))
    assert "ses consultations sont refusées dès maintenant" in page
    assert "Révoqué le" in page
    assert "Fin du suivi" in page


def test_the_care_team_shares_too(client_for, radiologist, record, gp) -> None:
    response = client_for(radiologist).post(
        reverse("access:grant-create", args=[record.patient.pk]), grant_data(gp)
    )
    assert response.status_code == 302
    assert sees(gp, record.patient) == (True, "grant")


def test_a_referent_records_the_opposition_then_withdraws_it(
    client_for, referent, record, gp
) -> None:
    grant_to(gp, record.patient, by=referent)
    client = client_for(referent)
    page = text_of(client.get(sharing_url(record)))
    assert "accès d'urgence (bris de glace) compris" in page
    assert "suspendus, non supprimés" in page

    recorded = client.post(
        reverse("access:opposition-record", args=[record.patient.pk]),
        {"opposition-comment": "Demande écrite du patient", "opposition-confirm": "on"},
    )

    assert recorded.status_code == 302
    assert sees(gp, record.patient) == (False, "opposition")
    opposition = Opposition.objects.get()
    assert (opposition.source, opposition.recorded_by, opposition.comment) == (
        Opposition.Source.REFERENT,
        referent,
        "Demande écrite du patient",
    )
    page = text_of(client.get(sharing_url(record)))
    assert "Le patient s'oppose au partage de ses images depuis le" in page
    assert "Rose Référente" in page
    assert "Suspendu par l'opposition" in page
    assert "aucun accès ne peut être ouvert tant que l'opposition n'est pas retirée" in page

    withdrawn = client.post(
        reverse("access:opposition-withdraw", args=[record.patient.pk]),
        {"retrait-comment": "Le patient a changé d'avis", "retrait-confirm": "on"},
    )

    assert withdrawn.status_code == 302
    assert sees(gp, record.patient) == (True, "grant")
    page = text_of(client.get(sharing_url(record)))
    assert "Oppositions retirées" in page
    assert "Le patient a changé d'avis" in page


def test_the_opposition_needs_the_referent_to_confirm_the_patients_request(
    client_for, referent, record
) -> None:
    response = client_for(referent).post(
        reverse("access:opposition-record", args=[record.patient.pk]),
        {"opposition-comment": "Oubli de la case"},
    )
    assert response.status_code == 400
    assert "Cochez la case pour confirmer la demande du patient." in text_of(response)
    assert not Opposition.objects.exists()


def test_it_explains_an_opposition_already_recorded(client_for, referent, record) -> None:
    oppose(record.patient, by=referent)
    response = client_for(referent).post(
        reverse("access:opposition-record", args=[record.patient.pk]),
        {"opposition-confirm": "on"},
    )
    assert response.status_code == 400
    assert "L'opposition de ce patient est déjà enregistrée." in text_of(response)


def test_the_care_team_sees_the_opposition_but_leaves_it_to_a_referent(
    client_for, radiologist, referent, record
) -> None:
    client = client_for(radiologist)
    page = text_of(client.get(sharing_url(record)))
    assert "Seul un référent de l'établissement enregistre ou retire l'opposition" in page
    assert reverse("access:opposition-record", args=[record.patient.pk]) not in page

    refused = client.post(
        reverse("access:opposition-record", args=[record.patient.pk]),
        {"opposition-confirm": "on"},
    )
    assert refused.status_code == 403
    assert not Opposition.objects.exists()
    oppose(record.patient, by=referent)
    refused = client.post(
        reverse("access:opposition-withdraw", args=[record.patient.pk]),
        {"retrait-confirm": "on"},
    )
    assert refused.status_code == 403
    assert Opposition.objects.active().exists()


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"last_day": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()},
            "La fin de l'accès doit être dans le futur.",
        ),
        (
            {
                "last_day": (
                    timezone.localdate()
                    + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS + 1)
                ).isoformat()
            },
            f"Un accès dure au plus {settings.ACCESS_GRANT_MAX_DAYS} jours.",
        ),
        ({"last_day": "31/02/2026"}, "Indiquez une date valide"),
        ({"practitioner": ""}, "Choisissez le professionnel : cherchez-le par son nom"),
        ({"practitioner": "999999"}, "Ce professionnel est introuvable"),
        ({"reason": "patient_choice"}, "Choisissez le motif du partage."),
        ({"comment": "x" * 2001}, "2000 caractères"),
    ],
    ids=["past", "too-long", "bad-date", "no-one", "unknown", "reason", "comment"],
)
def test_it_explains_bad_input_in_french(client_for, referent, record, gp, fields, message) -> None:
    response = client_for(referent).post(
        reverse("access:grant-create", args=[record.patient.pk]), grant_data(gp, **fields)
    )
    assert response.status_code == 400
    assert message in text_of(response)
    assert not AccessGrant.objects.exists()


def test_the_longest_period_offered_is_accepted(client_for, referent, record, gp) -> None:
    last_day = timezone.localdate() + datetime.timedelta(days=settings.ACCESS_GRANT_MAX_DAYS)
    response = client_for(referent).post(
        reverse("access:grant-create", args=[record.patient.pk]),
        grant_data(gp, last_day=last_day.isoformat()),
    )
    assert response.status_code == 302
    assert sees(gp, record.patient) == (True, "grant")


def test_it_neither_proposes_nor_accepts_a_practitioner_without_accreditation(
    client_for, referent, record
) -> None:
    unaccredited = PractitionerFactory(last_name="Sansplus", first_name="Paul")
    client = client_for(referent)
    found = text_of(client.get(sharing_url(record), {"q": "Sansplus"}))
    assert "Aucun professionnel habilité ne correspond à cette recherche." in found

    response = client.post(
        reverse("access:grant-create", args=[record.patient.pk]),
        {**grant_data(unaccredited.user), "practitioner": unaccredited.pk},
    )
    assert response.status_code == 400
    assert "Ce professionnel n'a pas d'habilitation en cours au réseau." in text_of(response)
    assert not AccessGrant.objects.exists()


def test_it_refuses_a_duplicate_grant_and_keeps_the_choice(
    client_for, referent, record, gp
) -> None:
    grant_to(gp, record.patient, by=referent)
    response = client_for(referent).post(
        reverse("access:grant-create", args=[record.patient.pk]), grant_data(gp)
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Ce professionnel a déjà accès à ce patient jusqu'au" in page
    assert f'value="{gp.practitioner.pk}" checked' in page
    assert AccessGrant.objects.count() == 1


def test_a_user_acting_for_several_establishments_chooses_one(
    client_for, referent, record, gp, clinic
) -> None:
    MembershipFactory(user=referent, establishment=clinic, role=Membership.Role.REFERENT)
    client = client_for(referent)
    url = reverse("access:grant-create", args=[record.patient.pk])

    missing = client.post(url, grant_data(gp))
    assert missing.status_code == 400
    assert "Choisissez l'établissement au nom duquel vous partagez." in text_of(missing)

    assert client.post(url, grant_data(gp, establishment=clinic.pk)).status_code == 302
    assert AccessGrant.objects.get().establishment == clinic


def test_the_search_proposes_accredited_practitioners_but_not_oneself(
    client_for, radiologist, record, gp
) -> None:
    colleague = AccreditationFactory(
        practitioner=PractitionerFactory(last_name="Radiologue", first_name="Zoé")
    ).practitioner
    PracticeSiteFactory(practitioner=colleague, establishment=record.hospital_study.establishment)
    response = client_for(radiologist).get(
        sharing_url(record), {"q": "radiologue"}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert "<html" not in content  # the HTMX fragment alone
    assert f'value="{colleague.pk}"' in content
    assert "CHR Metz-Thionville" in content
    assert f'value="{radiologist.practitioner.pk}"' not in content

    short = client_for(radiologist).get(sharing_url(record), {"q": "r"}, HTTP_HX_REQUEST="true")
    assert "Saisissez au moins 2 lettres du nom." in text_of(short)


# --- Permissions of each write ----------------------------------------------------------------


@pytest.mark.parametrize("who", DENIED)
def test_it_refuses_sharing_to_anyone_else(
    request, who, client_for, record, gp, radiologist
) -> None:
    to = radiologist if who == "gp" else gp
    response = client_for(request.getfixturevalue(who)).post(
        reverse("access:grant-create", args=[record.patient.pk]), grant_data(to)
    )
    assert response.status_code == 403
    assert not AccessGrant.objects.exists()


@pytest.mark.parametrize("who", ["referent", "radiologist"])
def test_staff_of_the_producing_establishment_revoke(
    request, who, client_for, record, gp, referent
) -> None:
    grant = grant_to(gp, record.patient, by=UserFactory())  # another staff member shared
    response = client_for(request.getfixturevalue(who)).post(
        reverse("access:grant-revoke", args=[grant.pk])
    )
    assert response.status_code == 302
    assert sees(gp, record.patient) == (False, "no_right")


@pytest.mark.parametrize("who", DENIED)
def test_it_refuses_revocation_to_anyone_else(
    request, who, client_for, record, gp, referent
) -> None:
    grant = grant_to(gp, record.patient, by=referent)
    response = client_for(request.getfixturevalue(who)).post(
        reverse("access:grant-revoke", args=[grant.pk]), {"reason": "Essai"}
    )
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert sees(gp, record.patient) == (True, "grant")


def test_it_explains_a_grant_already_revoked(client_for, referent, record, gp) -> None:
    grant = grant_to(
        gp, record.patient, by=referent, revoked_at=timezone.now(), revoked_by=referent
    )
    client = client_for(referent)
    response = client.post(reverse("access:grant-revoke", args=[grant.pk]), follow=True)
    assert "Cet accès est déjà révoqué." in text_of(response)


@pytest.mark.parametrize("view", ["opposition-record", "opposition-withdraw"])
@pytest.mark.parametrize("who", DENIED)
def test_it_refuses_the_opposition_screens_to_anyone_else(
    request, who, view, client_for, record, referent
) -> None:
    if view == "opposition-withdraw":
        oppose(record.patient, by=referent)
    before = list(Opposition.objects.values_list("pk", "withdrawn_at"))
    response = client_for(request.getfixturevalue(who)).post(
        reverse(f"access:{view}", args=[record.patient.pk]),
        {"opposition-confirm": "on", "retrait-confirm": "on"},
    )
    assert response.status_code == 403
    assert list(Opposition.objects.values_list("pk", "withdrawn_at")) == before


def test_the_screens_answer_post_only_where_they_write(client_for, referent, record, gp) -> None:
    client = client_for(referent)
    grant = grant_to(gp, record.patient, by=referent)
    assert client.get(reverse("access:grant-create", args=[record.patient.pk])).status_code == 405
    assert client.get(reverse("access:grant-revoke", args=[grant.pk])).status_code == 405
    assert (
        client.get(reverse("access:opposition-record", args=[record.patient.pk])).status_code == 405
    )


# --- Protections ------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(referent, record, gp) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(referent)
    response = client.post(reverse("access:grant-create", args=[record.patient.pk]), grant_data(gp))
    assert response.status_code == 403
    assert not AccessGrant.objects.exists()


def test_no_patient_data_in_the_pages_addresses(client_for, referent, record, gp) -> None:
    grant_to(gp, record.patient, by=referent)
    page = client_for(referent).get(sharing_url(record), {"q": "dehors"}).content.decode()
    addresses = re.findall(r'(?:href|action|hx-get)="([^"]*)"', page)
    assert sharing_url(record) in addresses
    for address in addresses:
        assert "durand" not in address.lower()
        assert "1962" not in address
    forms = re.findall(r'<form method="(\w+)" action="([^"]*)"', page)
    assert len(forms) >= 4  # search, share, revoke, opposition
    # Every form of the page posts, but the search of the practitioner directory.
    assert [action for method, action in forms if method != "post"] == [
        f"{sharing_url(record)}#partager"
    ]


def test_the_sharing_page_costs_a_bounded_number_of_queries(
    client_for, referent, record, django_assert_max_num_queries
) -> None:
    for _ in range(20):
        grantee = AccreditationFactory().practitioner.user
        grant_to(grantee, record.patient, by=referent, comment="Suivi")
    AccessGrant.objects.filter(pk__in=AccessGrant.objects.values("pk")[:5]).update(
        revoked_at=timezone.now(), revoked_by=referent
    )
    client = client_for(referent)
    client.get(sharing_url(record))  # the session and the roles are warm
    # 16: the grants and their names, the opposition, the patient portal's pending code.
    with django_assert_max_num_queries(16):
        response = client.get(sharing_url(record))
    assert response.content.decode().count("Révoquer l'accès de") == 15
