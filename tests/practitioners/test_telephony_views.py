"""The referent's telephony directory pages: configuration, connection test (HTMX), sync now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from establishments.models import Establishment, Membership
from portal.models import User
from practitioners.models import PracticeSite, TelephonyDirectory
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp
from tests.practitioners.ldap import directory_data as data
from tests.practitioners.ldap.fixtures import directory, slapd, staff
from tests.practitioners.ldap.server import SlapdServer, free_port

__all__ = ["directory", "slapd", "staff"]

pytestmark = pytest.mark.django_db

ClientFor = Callable[[User], Client]


def _url(name: str, establishment: Establishment) -> str:
    return reverse(f"telephony:{name}", args=[establishment.pk])


def _form(slapd: SlapdServer, **changes: str) -> dict[str, str]:
    return {
        "url": slapd.url,
        "bind_dn": data.READER_DN,
        "password": data.READER_PASSWORD,
        "base_dn": data.PEOPLE_BASE,
        "search_filter": "(objectClass=inetOrgPerson)",
        "attribute_rpps": "employeeNumber",
        "attribute_email": "mail",
        "attribute_phone": "telephoneNumber",
        "attribute_mobile": "mobile",
        "attribute_department": "departmentNumber",
        "enabled": "on",
        **changes,
    }


@pytest.fixture
def other_referent(db: None) -> User:
    """A referent, but of another establishment."""
    user = UserFactory(email="rene.referent@ailleurs.test")
    enrol_totp(user)
    MembershipFactory(
        user=user, establishment=EstablishmentFactory(), role=Membership.Role.REFERENT
    )
    return user


# --- The configuration page ------------------------------------------------------------------


def test_it_shows_the_referent_the_configuration_and_the_buttons(
    client_for: ClientFor, referent: User, directory: TelephonyDirectory
) -> None:
    response = client_for(referent).get(_url("directory", directory.establishment))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Annuaire téléphonique – CHR Metz-Thionville</h1>" in page
    assert "Tester la connexion" in page
    assert "Synchroniser maintenant" in page
    assert f'hx-post="{_url("test", directory.establishment)}"' in page
    assert data.READER_DN in page
    assert data.READER_PASSWORD not in page
    assert directory.bind_password_encrypted not in page
    assert "Un mot de passe est enregistré" in page


def test_it_offers_an_empty_form_with_the_default_attributes(
    client_for: ClientFor, referent: User, hospital: Establishment
) -> None:
    response = client_for(referent).get(_url("directory", hospital))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Aucun annuaire n'est encore configuré" in page
    assert 'value="employeeNumber"' in page
    assert "Synchroniser maintenant" not in page


def test_it_lets_a_regional_admin_configure_any_establishment(
    client_for: ClientFor, regional_admin: User, hospital: Establishment
) -> None:
    response = client_for(regional_admin).get(_url("directory", hospital))

    assert response.status_code == 200


def test_it_hides_the_page_from_a_referent_of_another_establishment(
    client_for: ClientFor, other_referent: User, hospital: Establishment
) -> None:
    response = client_for(other_referent).get(_url("directory", hospital))

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["director", "practitioner", "patient", "auditor"])
def test_it_refuses_the_page_to_other_roles(
    client_for: ClientFor, hospital: Establishment, role: str, request: Any
) -> None:
    user = request.getfixturevalue(role)

    response = client_for(user).get(_url("directory", hospital))

    assert response.status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client: Client, hospital: Establishment) -> None:
    response = client.get(_url("directory", hospital))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_answers_404_for_an_establishment_that_does_not_exist(
    client_for: ClientFor, regional_admin: User
) -> None:
    response = client_for(regional_admin).get(reverse("telephony:directory", args=[999999]))

    assert response.status_code == 404


def test_it_saves_the_configuration_with_the_password_encrypted(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    client = client_for(referent)

    response = client.post(_url("directory", hospital), _form(slapd, attribute_mobile=""))

    assert response.status_code == 302
    directory = TelephonyDirectory.objects.get(establishment=hospital)
    assert directory.url == slapd.url
    assert directory.attribute_mapping["mobile"] == ""
    assert directory.bind_password_encrypted
    assert data.READER_PASSWORD not in directory.bind_password_encrypted
    page = client.get(response["Location"]).content.decode()
    assert "La configuration de l&#x27;annuaire est enregistrée." in page
    assert data.READER_PASSWORD not in page


def test_it_keeps_the_password_when_the_field_is_left_empty(
    client_for: ClientFor, referent: User, directory: TelephonyDirectory, slapd: SlapdServer
) -> None:
    stored = directory.bind_password_encrypted

    response = client_for(referent).post(
        _url("directory", directory.establishment), _form(slapd, password="", enabled="")
    )

    assert response.status_code == 302
    directory.refresh_from_db()
    assert directory.bind_password_encrypted == stored
    assert not directory.enabled


def test_it_asks_for_the_password_again_when_the_server_changes(
    client_for: ClientFor, referent: User, directory: TelephonyDirectory, slapd: SlapdServer
) -> None:
    response = client_for(referent).post(
        _url("directory", directory.establishment),
        _form(slapd, url="ldaps://annuaire.ailleurs.test", password=""),
    )

    assert response.status_code == 400
    assert "Saisissez à nouveau le mot de passe" in response.content.decode()
    directory.refresh_from_db()
    assert directory.url == slapd.url


def test_it_shows_clear_errors_for_a_malformed_configuration(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = client_for(referent).post(
        _url("directory", hospital),
        _form(slapd, url="http://annuaire.test", base_dn="", search_filter="(cn=*"),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "doit commencer par ldap:// ou ldaps://" in page
    assert "Ce champ est obligatoire." in page
    assert not TelephonyDirectory.objects.exists()


def test_it_refuses_a_save_by_a_referent_of_another_establishment(
    client_for: ClientFor, other_referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = client_for(other_referent).post(_url("directory", hospital), _form(slapd))

    assert response.status_code == 404
    assert not TelephonyDirectory.objects.exists()


def test_it_refuses_a_save_by_a_director(
    client_for: ClientFor, director: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = client_for(director).post(_url("directory", hospital), _form(slapd))

    assert response.status_code == 403
    assert not TelephonyDirectory.objects.exists()


# --- "Tester la connexion" -------------------------------------------------------------------


def _test(client: Client, establishment: Establishment, form: dict[str, str]) -> Any:
    return client.post(_url("test", establishment), form, headers={"HX-Request": "true"})


def test_it_tests_the_connection_being_typed(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(client_for(referent), hospital, _form(slapd))

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert "Connexion réussie : plus de 100 entrées trouvées" in fragment
    assert not TelephonyDirectory.objects.exists()  # a test saves nothing


def test_it_tests_the_connection_with_the_stored_password(
    client_for: ClientFor, referent: User, directory: TelephonyDirectory, slapd: SlapdServer
) -> None:
    response = _test(client_for(referent), directory.establishment, _form(slapd, password=""))

    assert "Connexion réussie" in response.content.decode()


def test_it_explains_a_refused_password_without_showing_it(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(client_for(referent), hospital, _form(slapd, password="pas-le-bon"))

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "La connexion a échoué." in fragment
    assert "a refusé les identifiants" in fragment
    assert "pas-le-bon" not in fragment
    assert "Traceback" not in fragment


def test_it_explains_an_unreachable_server(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    port = free_port()

    response = _test(client_for(referent), hospital, _form(slapd, url=f"ldap://127.0.0.1:{port}"))

    assert f"127.0.0.1:{port} est injoignable" in response.content.decode()


def test_it_explains_a_base_dn_that_does_not_exist(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(
        client_for(referent), hospital, _form(slapd, base_dn=f"ou=absents,{data.SUFFIX}")
    )

    assert "est introuvable dans l&#x27;annuaire" in response.content.decode()


def test_it_lists_form_errors_in_the_test_result(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(client_for(referent), hospital, _form(slapd, url="annuaire.test"))

    assert "Adresse du serveur : L&#x27;adresse du serveur doit commencer" in (
        response.content.decode()
    )


def test_it_tests_the_connection_without_javascript(
    client_for: ClientFor, referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = client_for(referent).post(_url("test", hospital), _form(slapd))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" in page
    assert "Connexion réussie" in page
    assert data.READER_PASSWORD not in page


def test_it_refuses_the_test_to_a_referent_of_another_establishment(
    client_for: ClientFor, other_referent: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(client_for(other_referent), hospital, _form(slapd))

    assert response.status_code == 404


def test_it_refuses_the_test_to_a_practitioner(
    client_for: ClientFor, practitioner: User, hospital: Establishment, slapd: SlapdServer
) -> None:
    response = _test(client_for(practitioner), hospital, _form(slapd))

    assert response.status_code == 403


def test_it_accepts_only_posts_for_the_test(
    client_for: ClientFor, referent: User, hospital: Establishment
) -> None:
    response = client_for(referent).get(_url("test", hospital))

    assert response.status_code == 405


# --- "Synchroniser maintenant" and the report ------------------------------------------------


def test_it_syncs_on_demand_and_shows_the_report(
    client_for: ClientFor,
    referent: User,
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
) -> None:
    client = client_for(referent)

    response = client.post(_url("sync", directory.establishment))

    assert response.status_code == 302
    assert PracticeSite.objects.get(pk=staff["keller"].pk).phone == "0387553131"
    page = client.get(response["Location"]).content.decode()
    assert (
        "Synchronisation terminée : 128 entrées lues, 5 rapprochées, 5 mises à jour, "
        "1 départ(s) signalé(s)."
    ) in page
    assert "Dernière synchronisation réussie" in page
    assert "Sophie Hoffmann" in page
    assert "RPPS inconnu dans l&#x27;établissement" in page
    assert "E-mail partagé par plusieurs entrées de l&#x27;annuaire" in page
    assert "Départs en attente de votre décision" in page
    assert "Paul Parti" in page
    assert "Lucie Nouvelle" in page  # active here, never found in the directory


def test_it_shows_why_a_sync_failed_and_changes_nothing(
    client_for: ClientFor,
    referent: User,
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
) -> None:
    port = free_port()
    TelephonyDirectory.objects.filter(pk=directory.pk).update(url=f"ldap://127.0.0.1:{port}")
    client = client_for(referent)

    response = client.post(_url("sync", directory.establishment))

    page = client.get(response["Location"]).content.decode()
    assert "La synchronisation a échoué, rien n&#x27;a été modifié" in page
    assert "Dernière erreur" in page
    assert f"127.0.0.1:{port} est injoignable" in page
    assert PracticeSite.objects.get(pk=staff["leaver"].pk).status == PracticeSite.Status.ACTIVE


def test_it_asks_to_save_a_configuration_before_syncing(
    client_for: ClientFor, referent: User, hospital: Establishment
) -> None:
    client = client_for(referent)

    response = client.post(_url("sync", hospital))

    page = client.get(response["Location"]).content.decode()
    assert "Enregistrez d&#x27;abord la configuration de l&#x27;annuaire." in page


def test_it_refuses_a_sync_by_a_referent_of_another_establishment(
    client_for: ClientFor,
    other_referent: User,
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
) -> None:
    response = client_for(other_referent).post(_url("sync", directory.establishment))

    assert response.status_code == 404
    directory.refresh_from_db()
    assert directory.last_sync_at is None


def test_it_refuses_a_sync_by_a_director(
    client_for: ClientFor, director: User, directory: TelephonyDirectory
) -> None:
    response = client_for(director).post(_url("sync", directory.establishment))

    assert response.status_code == 403
    directory.refresh_from_db()
    assert directory.last_sync_at is None


# --- The list of directories -----------------------------------------------------------------


def test_it_lists_every_member_establishment_for_a_regional_admin(
    client_for: ClientFor,
    regional_admin: User,
    directory: TelephonyDirectory,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(15):  # more than the query budget: a query per row would show
        EstablishmentFactory()
    prospect = EstablishmentFactory(
        name="Clinique en prospection", status=Establishment.Status.PROSPECT
    )
    client = client_for(regional_admin)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("telephony:list"))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count(reverse("telephony:directory", args=[directory.establishment.pk])) == 1
    assert prospect.name not in page
    assert page.count("non configuré") == 15
    assert f"<code>{directory.url}</code>" in page


def test_it_lists_only_the_referents_establishments(
    client_for: ClientFor, referent: User, hospital: Establishment
) -> None:
    other = EstablishmentFactory(name="Hôpital voisin")

    response = client_for(referent).get(reverse("telephony:list"))

    page = response.content.decode()
    assert hospital.name in page
    assert other.name not in page


def test_it_refuses_the_list_to_a_director(client_for: ClientFor, director: User) -> None:
    response = client_for(director).get(reverse("telephony:list"))

    assert response.status_code == 403
