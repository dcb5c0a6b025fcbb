"""The LDAP client (practitioners/telephony.py) against a real slapd and misbehaving servers."""

from __future__ import annotations

import dataclasses

import pytest

from practitioners.telephony import (
    DirectoryBaseNotFound,
    DirectoryConfigurationError,
    DirectoryError,
    DirectoryInvalidCredentials,
    DirectoryProtocolError,
    DirectorySettings,
    DirectoryUnreachable,
    TelephonyDirectoryClient,
    parse_directory_url,
)
from tests.practitioners.ldap import directory_data as data
from tests.practitioners.ldap.server import SlapdServer, free_port, slapd, small_slapd, tcp_server

__all__ = ["slapd", "small_slapd"]

ATTRIBUTES = ["employeeNumber", "mail", "telephoneNumber", "mobile", "departmentNumber"]


@pytest.fixture
def settings_for(slapd: SlapdServer) -> DirectorySettings:
    return DirectorySettings(
        url=slapd.url,
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
        bind_dn=data.READER_DN,
        password=data.READER_PASSWORD,
    )


def _fails(settings: DirectorySettings, error: type[DirectoryError]) -> str:
    with pytest.raises(error) as raised:
        TelephonyDirectoryClient(settings).check()
    message = raised.value.message
    assert data.READER_PASSWORD not in message
    assert "Traceback" not in message
    return message


def test_it_counts_the_first_page_and_says_more_follow(settings_for: DirectorySettings) -> None:
    check = TelephonyDirectoryClient(settings_for).check(page_size=50)

    assert (check.entries, check.more) == (50, True)


def test_it_counts_a_directory_that_fits_in_one_page(settings_for: DirectorySettings) -> None:
    check = TelephonyDirectoryClient(settings_for).check(page_size=500)

    assert (check.entries, check.more) == (data.ENTRY_COUNT, False)


def test_it_reads_every_page_of_a_large_directory(settings_for: DirectorySettings) -> None:
    entries = TelephonyDirectoryClient(settings_for).entries(attributes=ATTRIBUTES, page_size=50)

    assert len(entries) == data.ENTRY_COUNT == 128
    assert len({entry.dn for entry in entries}) == data.ENTRY_COUNT
    assert f"cn=Agent Numéro 120,{data.PEOPLE_BASE}" in {entry.dn for entry in entries}


def test_it_decodes_accented_names_and_keeps_values_as_written(
    settings_for: DirectorySettings,
) -> None:
    entries = TelephonyDirectoryClient(settings_for).entries(attributes=ATTRIBUTES, page_size=50)

    muller = next(entry for entry in entries if entry.dn == data.MULLER.dn)
    assert muller.dn == f"cn=Hélène Müller-Éluard,{data.PEOPLE_BASE}"
    assert muller.display_name == "Hélène Müller-Éluard"
    assert muller.first("employeeNumber") == data.RPPS_MULLER
    assert muller.first("TELEPHONENUMBER") == "+33 3 87 55 40 12"
    assert muller.first("departmentNumber") == "Médecine nucléaire"
    assert muller.first("mobile") == ""


def test_it_refuses_a_wrong_password(settings_for: DirectorySettings) -> None:
    message = _fails(
        dataclasses.replace(settings_for, password="mauvais-mot-de-passe"),
        DirectoryInvalidCredentials,
    )

    assert "refusé les identifiants" in message
    assert "mauvais-mot-de-passe" not in message


def test_it_reports_an_unreachable_server() -> None:
    port = free_port()
    settings = DirectorySettings(
        url=f"ldap://127.0.0.1:{port}",
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
        bind_dn=data.READER_DN,
        password=data.READER_PASSWORD,
    )

    message = _fails(settings, DirectoryUnreachable)

    assert message == (
        f"Le serveur d'annuaire 127.0.0.1:{port} est injoignable (connexion refusée ou nom "
        "inconnu)."
    )


def test_it_reports_a_base_dn_that_does_not_exist(settings_for: DirectorySettings) -> None:
    base = f"ou=inexistant,{data.SUFFIX}"

    message = _fails(dataclasses.replace(settings_for, base_dn=base), DirectoryBaseNotFound)

    assert f"« {base} » est introuvable" in message


def test_it_treats_a_base_hidden_from_anonymous_readers_as_absent(
    settings_for: DirectorySettings,
) -> None:
    # The directory lets no anonymous reader see its people: the base looks absent.
    _fails(dataclasses.replace(settings_for, bind_dn="", password=""), DirectoryBaseNotFound)


def test_it_gives_up_on_a_server_that_never_answers(settings_for: DirectorySettings) -> None:
    with tcp_server(reply=None) as port:
        message = _fails(
            dataclasses.replace(settings_for, url=f"ldap://127.0.0.1:{port}", receive_timeout_s=1),
            DirectoryUnreachable,
        )

    assert message == f"L'annuaire 127.0.0.1:{port} ne répond pas (délai dépassé)."


def test_it_recognises_a_server_that_does_not_speak_ldap(settings_for: DirectorySettings) -> None:
    with tcp_server(reply=b"HTTP/1.1 400 Bad Request\r\n\r\n") as port:
        message = _fails(
            dataclasses.replace(settings_for, url=f"ldap://127.0.0.1:{port}"),
            DirectoryProtocolError,
        )

    assert "ce n'est peut-être pas un annuaire LDAP" in message


def test_it_reports_a_failed_tls_handshake(
    settings_for: DirectorySettings, slapd: SlapdServer
) -> None:
    message = _fails(
        dataclasses.replace(settings_for, url=f"ldaps://127.0.0.1:{slapd.port}"),
        DirectoryUnreachable,
    )

    assert "La connexion sécurisée (TLS)" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"url": "http://annuaire.exemple.fr"}, "doit commencer par ldap:// ou ldaps://"),
        ({"url": "ldap://annuaire.exemple.fr/ou=personnels"}, "Indiquez seulement le serveur"),
        ({"base_dn": "personnels"}, "n'est pas un DN valide"),
        ({"search_filter": "(objectClass=inetOrgPerson"}, "Le filtre de recherche est invalide"),
        ({"password": ""}, "Aucun mot de passe"),
    ],
)
def test_it_rejects_malformed_settings_without_connecting(
    changes: dict[str, str], expected: str
) -> None:
    settings = DirectorySettings(
        url="ldap://127.0.0.1:9",
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
        bind_dn=data.READER_DN,
        password="secret",
    )

    with pytest.raises(DirectoryConfigurationError, match=expected):
        TelephonyDirectoryClient(dataclasses.replace(settings, **changes))


def test_it_reads_the_port_and_tls_from_the_url() -> None:
    assert str(parse_directory_url("ldaps://annuaire.chr.fr")) == "annuaire.chr.fr:636"
    assert str(parse_directory_url("ldap://annuaire.chr.fr")) == "annuaire.chr.fr:389"
    assert parse_directory_url("ldap://127.0.0.1:13389/").port == 13389
    assert parse_directory_url("ldaps://annuaire.chr.fr").use_ssl


def test_it_refuses_a_search_the_server_cut_short(
    settings_for: DirectorySettings, small_slapd: SlapdServer
) -> None:
    # ldap3 alone would return the first 100 entries as if they were all.
    client = TelephonyDirectoryClient(dataclasses.replace(settings_for, url=small_slapd.url))

    with pytest.raises(DirectoryProtocolError) as raised:
        client.entries(attributes=ATTRIBUTES, page_size=50)

    assert raised.value.message == (
        f"L'annuaire 127.0.0.1:{small_slapd.port} a arrêté la recherche après 100 entrées "
        "(limite de taille du serveur) : demandez à son administrateur de lever la limite pour "
        "le compte du portail."
    )
