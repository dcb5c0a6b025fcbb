"""Regional administrators browse the network's establishments and move their status."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from establishments.models import Establishment, EstablishmentStatusChange, Membership
from establishments.services import establishment_change_status, establishment_set_status
from tests.establishments.factories import submit_application
from tests.factories import EstablishmentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

LIST = reverse("establishments:list")
Status = Establishment.Status


def _detail(establishment: Establishment) -> str:
    return reverse("establishments:detail", args=[establishment.pk])


def _status_url(establishment: Establishment) -> str:
    return reverse("establishments:change_status", args=[establishment.pk])


# --- Who may see them --------------------------------------------------------------------------


def test_regional_admins_see_the_list(client_for, regional_admin, hospital) -> None:
    response = client_for(regional_admin).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Établissements du réseau</h1>" in page
    assert "CHR Metz-Thionville" in page
    assert hospital.finess_eg in page


@pytest.mark.parametrize(
    "role", ["auditor", "director", "referent", "practitioner", "outsider", "patient", "applicant"]
)
def test_other_roles_are_refused_the_list_and_the_detail(
    request, client_for, role, hospital
) -> None:
    client = client_for(request.getfixturevalue(role))
    assert client.get(LIST).status_code == 403
    assert client.get(_detail(hospital)).status_code == 403
    response = client.post(_status_url(hospital), {"status": Status.SUSPENDED, "reason": "x"})
    assert response.status_code == 403
    hospital.refresh_from_db()
    assert hospital.status == Status.MEMBER


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, hospital) -> None:
    for url in (LIST, _detail(hospital)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={url}"


# --- Search and filters ------------------------------------------------------------------------


@pytest.fixture
def network() -> dict[str, Establishment]:
    return {
        "nancy": EstablishmentFactory(
            name="CHRU de Nancy",
            city="Vandœuvre-lès-Nancy",
            department="54",
            kind=Establishment.Kind.UNIVERSITY_HOSPITAL,
        ),
        "epinal": EstablishmentFactory(
            name="Clinique de la Ligne bleue",
            city="Épinal",
            department="88",
            kind=Establishment.Kind.PRIVATE_CLINIC,
            status=Status.PROSPECT,
        ),
        "remiremont": EstablishmentFactory(
            name="CH de Remiremont",
            city="Remiremont",
            department="88",
            status=Status.SUSPENDED,
        ),
    }


def _names(client: Client, **params: str) -> set[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return {establishment.name for establishment in response.context["page"].object_list}


def test_it_searches_by_name_finess_and_city(client_for, regional_admin, network) -> None:
    client = client_for(regional_admin)
    assert _names(client, q="nancy") == {"CHRU de Nancy"}
    assert _names(client, q=network["epinal"].finess_eg) == {"Clinique de la Ligne bleue"}
    assert _names(client, q=network["epinal"].finess_ej[:5]) >= {"Clinique de la Ligne bleue"}
    assert _names(client, q="remiremont") == {"CH de Remiremont"}
    assert _names(client, q="ch remiremont") == {"CH de Remiremont"}
    assert _names(client, q="introuvable") == set()


def test_it_filters_by_status_kind_and_department(client_for, regional_admin, network) -> None:
    client = client_for(regional_admin)
    assert _names(client, status=Status.SUSPENDED) == {"CH de Remiremont"}
    assert _names(client, kind=Establishment.Kind.PRIVATE_CLINIC) == {"Clinique de la Ligne bleue"}
    assert _names(client, department="88") == {"Clinique de la Ligne bleue", "CH de Remiremont"}
    assert _names(client, department="88", status=Status.PROSPECT) == {"Clinique de la Ligne bleue"}


def test_an_unknown_filter_value_is_ignored_with_an_error(
    client_for, regional_admin, network
) -> None:
    response = client_for(regional_admin).get(LIST, {"status": "ferme"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert len(response.context["page"].object_list) == 3


def test_the_list_is_paginated_and_keeps_its_filters(client_for, regional_admin) -> None:
    EstablishmentFactory.create_batch(30, department="57")
    client = client_for(regional_admin)
    first = client.get(LIST, {"department": "57"})
    assert len(first.context["page"].object_list) == 25
    assert "?department=57&amp;page=2" in first.content.decode()
    second = client.get(LIST, {"department": "57", "page": "2"})
    assert len(second.context["page"].object_list) == 5


def test_the_list_costs_a_bounded_number_of_queries(
    client_for, regional_admin, django_assert_max_num_queries
) -> None:
    for establishment in EstablishmentFactory.create_batch(30):
        MembershipFactory(establishment=establishment)
    client = client_for(regional_admin)
    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert response.content.decode().count('<th scope="row">') == 25


# --- Detail ------------------------------------------------------------------------------------


def test_the_detail_shows_identity_members_and_pending_applications(
    client_for, regional_admin, hospital, director, referent, practitioner, applicant
) -> None:
    submit_application(applicant, finess_eg=hospital.finess_eg, name=hospital.name)
    response = client_for(regional_admin).get(_detail(hospital))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>CHR Metz-Thionville</h1>" in page
    assert hospital.finess_eg in page
    assert "Bob Directeur" in page
    assert "Directeur ou directrice" in page
    assert "Rose Référente" in page
    assert "Référent" in page
    assert "Charlie Radiologue" in page
    assert "Personnel" in page
    assert "Claire Candidate" in page  # the pending application
    assert "Changer le statut" in page


def test_the_detail_leaves_out_removed_members(
    client_for, regional_admin, hospital, referent
) -> None:
    Membership.objects.filter(user=referent).update(ended_at="2026-01-01T00:00:00Z")
    page = client_for(regional_admin).get(_detail(hospital)).content.decode()
    assert "Rose Référente" not in page


def test_the_detail_costs_a_bounded_number_of_queries(
    client_for, regional_admin, hospital, django_assert_max_num_queries
) -> None:
    MembershipFactory.create_batch(20, establishment=hospital)
    for _ in range(5):
        establishment_set_status(establishment=hospital, status=Status.SUSPENDED, reason="a")
        establishment_set_status(establishment=hospital, status=Status.MEMBER, reason="b")
    client = client_for(regional_admin)
    with django_assert_max_num_queries(16):
        assert client.get(_detail(hospital)).status_code == 200


def test_an_unknown_establishment_answers_404(client_for, regional_admin) -> None:
    assert client_for(regional_admin).get("/etablissements/999999/").status_code == 404


# --- Status ------------------------------------------------------------------------------------


def test_a_regional_admin_suspends_then_reinstates_with_a_reason(
    client_for, regional_admin, hospital
) -> None:
    client = client_for(regional_admin)
    response = client.post(
        _status_url(hospital), {"status": Status.SUSPENDED, "reason": "Impayés depuis 6 mois."}
    )
    assert response.status_code == 302
    hospital.refresh_from_db()
    assert hospital.status == Status.SUSPENDED
    response = client.post(_status_url(hospital), {"status": Status.MEMBER, "reason": "Réglé."})
    assert response.status_code == 302
    hospital.refresh_from_db()
    assert hospital.status == Status.MEMBER
    history = list(hospital.status_changes.order_by("changed_at", "id"))
    assert [(h.from_status, h.to_status, h.reason) for h in history] == [
        (Status.MEMBER, Status.SUSPENDED, "Impayés depuis 6 mois."),
        (Status.SUSPENDED, Status.MEMBER, "Réglé."),
    ]
    assert all(change.changed_by == regional_admin for change in history)
    page = client.get(_detail(hospital)).content.decode()
    assert "Impayés depuis 6 mois." in page


def test_a_regional_admin_records_a_departure(client_for, regional_admin, hospital) -> None:
    client_for(regional_admin).post(
        _status_url(hospital), {"status": Status.LEFT, "reason": "Fin de convention."}
    )
    hospital.refresh_from_db()
    assert hospital.status == Status.LEFT


def test_a_status_change_needs_a_reason(client_for, regional_admin, hospital) -> None:
    response = client_for(regional_admin).post(
        _status_url(hospital), {"status": Status.SUSPENDED, "reason": "  "}
    )
    assert response.status_code == 400
    assert "Indiquez le motif de ce changement de statut." in response.content.decode()
    hospital.refresh_from_db()
    assert hospital.status == Status.MEMBER
    with pytest.raises(ValidationError, match="Indiquez le motif"):
        establishment_change_status(
            establishment=hospital, status=Status.SUSPENDED, by=regional_admin, reason=""
        )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.PROSPECT, Status.MEMBER),  # joining follows a signed purchase order
        (Status.PROSPECT, Status.SUSPENDED),
        (Status.MEMBER, Status.PROSPECT),
        (Status.SUSPENDED, Status.SUSPENDED),
        (Status.LEFT, Status.MEMBER),
    ],
)
def test_it_refuses_moves_outside_the_allowed_ones(
    client_for, regional_admin, current, target
) -> None:
    establishment = EstablishmentFactory(status=current)
    response = client_for(regional_admin).post(
        _status_url(establishment), {"status": target, "reason": "Essai"}
    )
    assert response.status_code == 400
    establishment.refresh_from_db()
    assert establishment.status == current
    with pytest.raises(ValidationError):
        establishment_change_status(
            establishment=establishment, status=target, by=regional_admin, reason="Essai"
        )
    assert not EstablishmentStatusChange.objects.exists()


def test_billing_moves_status_without_a_reason_and_the_history_keeps_it(hospital) -> None:
    prospect = EstablishmentFactory(status=Status.PROSPECT)
    establishment_set_status(establishment=prospect, status=Status.MEMBER)
    change = prospect.status_changes.get()
    assert (change.from_status, change.to_status, change.reason) == (
        Status.PROSPECT,
        Status.MEMBER,
        "",
    )
    # Setting the same status again records nothing.
    establishment_set_status(establishment=prospect, status=Status.MEMBER)
    assert prospect.status_changes.count() == 1
    with pytest.raises(ValueError, match="unknown establishment status"):
        establishment_set_status(establishment=prospect, status="ferme")
