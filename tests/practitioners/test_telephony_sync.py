"""The telephony directory sync (practitioners/directory_sync.py) against a real slapd."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from establishments.models import Establishment
from portal.models import User
from practitioners.directory_sync import (
    LEAVER_REASON,
    SyncReport,
    directory_sync,
    normalise_phone,
    rpps_from_directory,
    telephony_directory_save,
    telephony_directory_test_connection,
)
from practitioners.models import PracticeSite, TelephonyDirectory, UnmatchedReason
from practitioners.services import practice_site_reinstate, practice_site_suspend_as_leaver
from practitioners.telephony import (
    DirectoryConfigurationError,
    DirectoryInvalidCredentials,
    DirectoryProtocolError,
    DirectoryUnreachable,
)
from tests.factories import EstablishmentFactory
from tests.practitioners.ldap import directory_data as data
from tests.practitioners.ldap.fixtures import PAGE_SIZE, directory, practice_site, slapd, staff
from tests.practitioners.ldap.server import SlapdServer, free_port, small_slapd

__all__ = ["directory", "slapd", "small_slapd", "staff"]

pytestmark = pytest.mark.django_db

SITE_FIELDS = (
    "status",
    "status_reason",
    "phone",
    "mobile",
    "department",
    "directory_dn",
    "directory_seen_at",
    "is_leaver",
    "updated_at",
)


def _snapshot() -> dict[int, tuple[Any, ...]]:
    return {
        row[0]: row[1:]
        for row in PracticeSite.objects.order_by("pk").values_list("pk", *SITE_FIELDS)
    }


def _sync(directory: TelephonyDirectory) -> SyncReport:
    return directory_sync(directory=directory, page_size=PAGE_SIZE)


def _unmatched(report: SyncReport) -> dict[str, str]:
    return {entry["dn"]: entry["reason"] for entry in report.unmatched}


def test_it_updates_phones_and_department_of_a_practitioner_found_by_rpps(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    _sync(directory)

    keller = PracticeSite.objects.get(pk=staff["keller"].pk)
    assert keller.phone == "0387553131"
    assert keller.mobile == "0612345678"
    assert keller.department == "Radiologie"
    assert keller.directory_dn == data.KELLER.dn
    assert keller.directory_seen_at is not None
    assert keller.status == PracticeSite.Status.ACTIVE


def test_it_keeps_accented_names_and_international_numbers(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    _sync(directory)

    muller = PracticeSite.objects.get(pk=staff["muller"].pk)
    assert muller.phone == "+33387554012"
    assert muller.mobile == ""  # the directory has none: the old one is not kept
    assert muller.department == "Médecine nucléaire"
    assert muller.directory_dn == f"cn=Hélène Müller-Éluard,{data.PEOPLE_BASE}"


def test_it_finds_an_entry_without_rpps_by_email_whatever_its_case(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    dupont = PracticeSite.objects.get(pk=staff["dupont"].pk)
    assert (dupont.phone, dupont.department) == ("0387553200", "Urgences")
    assert dupont.directory_dn == data.DUPONT.dn
    assert report.matched_by_email == 2  # Dupont, and the ADELI manipulator below


def test_it_finds_a_practitioner_without_rpps_by_email_despite_the_entrys_number(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    _sync(directory)

    manipulator = PracticeSite.objects.get(pk=staff["adeli"].pk)
    assert manipulator.phone == "0387560003"
    assert manipulator.directory_dn == data.generated(3).dn


def test_it_reports_two_entries_sharing_an_email_and_applies_neither(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    unmatched = _unmatched(report)
    assert unmatched[data.SCHMITT.dn] == UnmatchedReason.AMBIGUOUS_EMAIL
    assert unmatched[data.IMAGING_DESK.dn] == UnmatchedReason.AMBIGUOUS_EMAIL
    schmitt = PracticeSite.objects.get(pk=staff["schmitt"].pk)
    assert schmitt.phone == "0387000000"
    # The directory still names her: not a leaver.
    assert schmitt.status == PracticeSite.Status.ACTIVE
    assert not schmitt.is_leaver


def test_it_reports_two_entries_for_one_practitioner_and_applies_neither(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    unmatched = _unmatched(report)
    assert unmatched[data.WEBER.dn] == UnmatchedReason.DUPLICATE
    assert unmatched[data.WEBER_ON_CALL.dn] == UnmatchedReason.DUPLICATE
    weber = PracticeSite.objects.get(pk=staff["weber"].pk)
    assert weber.phone == ""
    assert weber.status == PracticeSite.Status.ACTIVE


def test_it_reports_an_rpps_nobody_practises_with_here(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    hoffmann = next(entry for entry in report.unmatched if entry["dn"] == data.HOFFMANN.dn)
    assert hoffmann == {
        "dn": data.HOFFMANN.dn,
        "name": "Sophie Hoffmann",
        "reason": UnmatchedReason.UNKNOWN_RPPS,
    }


def test_it_reads_every_page_and_counts_what_it_did(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    agent = PracticeSite.objects.get(pk=staff["agent"].pk)
    assert agent.phone == "0387560117"
    assert report.entries == data.ENTRY_COUNT == 128
    assert (report.matched, report.matched_by_rpps, report.matched_by_email) == (5, 3, 2)
    assert (report.updated, report.unchanged) == (5, 0)
    # 2 sharing an e-mail, 2 for Weber, Hoffmann, and 118 of the 120 agents.
    assert report.unmatched_count == len(report.unmatched) == 123
    reasons = [entry["reason"] for entry in report.unmatched]
    assert reasons == sorted(reasons)


def test_it_ignores_practitioners_of_other_establishments_and_ended_sites(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    elsewhere = practice_site(
        EstablishmentFactory(),
        first_name="Agent",
        last_name="Numéro 005",
        rpps=data.generated_rpps(5),
    )
    before = _snapshot()

    report = _sync(directory)

    after = _snapshot()
    assert after[elsewhere.pk] == before[elsewhere.pk]
    assert after[staff["ended"].pk] == before[staff["ended"].pk]
    unmatched = _unmatched(report)
    assert unmatched[data.generated(5).dn] == UnmatchedReason.UNKNOWN_RPPS
    assert unmatched[data.generated(42).dn] == UnmatchedReason.UNKNOWN_RPPS


def test_it_suspends_a_practitioner_who_left_the_directory(
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
    referent: User,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        report = _sync(directory)

    leaver = PracticeSite.objects.get(pk=staff["leaver"].pk)
    assert leaver.status == PracticeSite.Status.SUSPENDED
    assert leaver.is_leaver
    assert leaver.status_reason == LEAVER_REASON
    assert leaver.directory_dn == ""
    assert leaver.phone == "0387999999"  # kept: the last known way to reach them
    assert [person["site"] for person in report.leavers] == [leaver.pk]
    assert report.leavers[0]["name"] == "Paul Parti"
    assert referent.email in {address for message in mailoutbox for address in message.to}


def test_it_only_reports_a_practitioner_never_found_in_the_directory(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    never_seen = PracticeSite.objects.get(pk=staff["never_seen"].pk)
    assert never_seen.status == PracticeSite.Status.ACTIVE
    assert not never_seen.is_leaver
    assert [person["name"] for person in report.not_found] == ["Lucie Nouvelle"]


def test_it_does_not_suspend_again_a_leaver_the_referent_kept(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite], referent: User
) -> None:
    _sync(directory)
    practice_site_reinstate(site=staff["leaver"], by=referent, reason="En congé, revient")

    report = _sync(directory)

    leaver = PracticeSite.objects.get(pk=staff["leaver"].pk)
    assert leaver.status == PracticeSite.Status.ACTIVE
    assert report.leavers == []
    assert "Paul Parti" in [person["name"] for person in report.not_found]


def test_it_leaves_a_returning_leaver_suspended_for_the_referent_to_decide(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    practice_site_suspend_as_leaver(site=staff["keller"], reason=LEAVER_REASON)

    report = _sync(directory)

    keller = PracticeSite.objects.get(pk=staff["keller"].pk)
    assert keller.status == PracticeSite.Status.SUSPENDED
    assert keller.is_leaver
    assert keller.phone == "0387553131"
    assert [person["name"] for person in report.returned] == ["Nicolas Keller"]


def test_it_changes_nothing_when_run_twice(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    first = _sync(directory)
    before = _snapshot()

    second = _sync(directory)

    assert _snapshot() == before
    assert (second.matched, second.updated, second.unchanged) == (first.matched, 0, first.matched)
    assert second.leavers == []
    assert second.unmatched == first.unmatched


def test_it_stores_the_report_and_the_time_of_success(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    report = _sync(directory)

    directory.refresh_from_db()
    assert directory.last_error == ""
    assert directory.last_success_at is not None
    assert directory.last_success_at == directory.last_sync_at
    assert SyncReport.from_json(directory.last_report) == report


def _broken(directory: TelephonyDirectory, **changes: str) -> TelephonyDirectory:
    TelephonyDirectory.objects.filter(pk=directory.pk).update(**changes)
    directory.refresh_from_db()
    return directory


def test_it_changes_nothing_when_the_directory_is_unreachable(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    before = _snapshot()
    port = free_port()
    _broken(directory, url=f"ldap://127.0.0.1:{port}")

    with pytest.raises(DirectoryUnreachable):
        _sync(directory)

    assert _snapshot() == before
    directory.refresh_from_db()
    assert directory.last_error == (
        f"Le serveur d'annuaire 127.0.0.1:{port} est injoignable (connexion refusée ou nom "
        "inconnu)."
    )
    assert directory.last_sync_at is not None
    assert (directory.last_report, directory.last_success_at) == ({}, None)


def test_it_changes_nothing_when_the_password_is_wrong(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    before = _snapshot()
    saved = telephony_directory_save(
        establishment=directory.establishment,
        url=directory.url,
        base_dn=directory.base_dn,
        search_filter=directory.search_filter,
        bind_dn=directory.bind_dn,
        password="plus-le-bon",
    )

    with pytest.raises(DirectoryInvalidCredentials):
        _sync(saved)

    assert _snapshot() == before
    saved.refresh_from_db()
    assert "refusé les identifiants" in saved.last_error
    assert "plus-le-bon" not in saved.last_error
    assert saved.last_success_at is None
    assert saved.last_report == {}


def test_it_changes_nothing_when_the_server_cuts_the_search_short(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite], small_slapd: SlapdServer
) -> None:
    before = _snapshot()
    _broken(directory, url=small_slapd.url)

    with pytest.raises(DirectoryProtocolError, match="a arrêté la recherche après 100 entrées"):
        _sync(directory)

    assert _snapshot() == before


def test_it_refuses_a_search_that_finds_nobody(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    before = _snapshot()
    _broken(directory, search_filter="(employeeNumber=00000000000)")

    with pytest.raises(DirectoryProtocolError, match="aucune entrée"):
        _sync(directory)

    assert _snapshot() == before


def test_it_refuses_a_mapping_that_recognises_nobody(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    # With the wrong attributes everybody would look gone: suspending them all is refused.
    before = _snapshot()
    directory.attribute_mapping = {**directory.attribute_mapping, "rpps": "uid", "email": "sn"}
    directory.save(update_fields=["attribute_mapping"])

    with pytest.raises(DirectoryProtocolError, match="Aucune entrée de l'annuaire ne correspond"):
        _sync(directory)

    assert _snapshot() == before
    directory.refresh_from_db()
    assert directory.last_error.startswith("Aucune entrée de l'annuaire ne correspond")


def test_it_clears_the_last_error_after_a_success(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    _broken(directory, last_error="Le serveur d'annuaire est injoignable.")

    _sync(directory)

    directory.refresh_from_db()
    assert directory.last_error == ""


def test_it_reads_the_password_from_the_operators_file(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite], tmp_path: Any
) -> None:
    secret = tmp_path / "annuaire.secret"
    secret.write_text(data.READER_PASSWORD + "\n")
    _broken(directory, bind_password_encrypted="", bind_password_file=str(secret))

    report = _sync(directory)

    assert report.matched == 5


def test_it_says_when_the_operators_password_file_is_missing(
    directory: TelephonyDirectory, tmp_path: Any
) -> None:
    _broken(directory, bind_password_file=str(tmp_path / "absent.secret"))

    with pytest.raises(DirectoryConfigurationError, match="fichier du mot de passe"):
        _sync(directory)


def test_it_says_when_the_stored_password_cannot_be_decrypted(
    directory: TelephonyDirectory, settings: Any
) -> None:
    settings.SECRET_KEY = "une-autre-cle-secrete-" + "x" * 40

    with pytest.raises(DirectoryConfigurationError, match="ne peut plus être déchiffré"):
        _sync(directory)


def test_it_stores_the_password_encrypted(directory: TelephonyDirectory) -> None:
    assert directory.bind_password_encrypted
    assert data.READER_PASSWORD not in directory.bind_password_encrypted
    assert data.READER_PASSWORD not in repr(TelephonyDirectory.objects.values().get())


def _save(establishment: Establishment, **changes: Any) -> TelephonyDirectory:
    values: dict[str, Any] = {
        "url": "ldap://annuaire.chr.test",
        "base_dn": data.PEOPLE_BASE,
        "search_filter": "(objectClass=inetOrgPerson)",
        "bind_dn": data.READER_DN,
        "password": "secret",
        **changes,
    }
    return telephony_directory_save(establishment=establishment, **values)


def test_it_keeps_the_stored_password_when_none_is_typed(hospital: Establishment) -> None:
    first = _save(hospital)

    again = _save(hospital, password="", search_filter="(objectClass=person)")

    assert again.bind_password_encrypted == first.bind_password_encrypted
    assert again.search_filter == "(objectClass=person)"


def test_it_asks_for_the_password_again_when_the_server_changes(hospital: Establishment) -> None:
    _save(hospital)

    with pytest.raises(ValidationError) as raised:
        _save(hospital, url="ldap://autre-serveur.test", password="")

    assert "Saisissez à nouveau le mot de passe" in str(raised.value.message_dict["password"])


def test_it_forgets_the_password_for_an_anonymous_bind(hospital: Establishment) -> None:
    _save(hospital)

    anonymous = _save(hospital, bind_dn="", password="")

    assert anonymous.bind_password_encrypted == ""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "https://annuaire.chr.test"}, "url"),
        ({"base_dn": "personnels"}, "base_dn"),
        ({"search_filter": "objectClass=person)"}, "search_filter"),
        ({"bind_dn": "lecteur"}, "bind_dn"),
        ({"password": ""}, "password"),
        ({"attribute_mapping": {"rpps": "", "email": ""}}, "attribute_rpps"),
        ({"attribute_mapping": {"rpps": "employee Number", "email": "mail"}}, "attribute_rpps"),
    ],
)
def test_it_refuses_a_malformed_configuration(
    hospital: Establishment, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        _save(hospital, **changes)

    assert field in raised.value.message_dict
    assert not TelephonyDirectory.objects.exists()


def test_it_tests_a_connection_with_the_stored_password(
    directory: TelephonyDirectory, slapd: SlapdServer
) -> None:
    check = telephony_directory_test_connection(
        establishment=directory.establishment,
        url=slapd.url,
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
        bind_dn=data.READER_DN,
        password="",
    )

    assert (check.entries, check.more) == (100, True)


def test_it_never_sends_the_stored_password_to_another_server(
    directory: TelephonyDirectory, slapd: SlapdServer
) -> None:
    with pytest.raises(DirectoryConfigurationError, match="Aucun mot de passe"):
        telephony_directory_test_connection(
            establishment=directory.establishment,
            url=f"ldap://localhost:{slapd.port}",
            base_dn=data.PEOPLE_BASE,
            search_filter="(objectClass=inetOrgPerson)",
            bind_dn=data.READER_DN,
        )


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("03 87 55 31 31", "0387553131"),
        ("+33 (0)3 87-55-31-31", "+330387553131"),
        ("  ", ""),
        ("poste 4012", "4012"),
    ],
)
def test_it_keeps_only_digits_and_plus_in_phone_numbers(raw: str, stored: str) -> None:
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize(
    ("raw", "rpps"),
    [
        ("10999999013", "10999999013"),
        ("810999999013", "10999999013"),  # an IDNPS
        (" 109 9999 9013 ", "10999999013"),
        ("A12345", "A12345"),
    ],
)
def test_it_reads_an_rpps_or_an_idnps_from_the_directory(raw: str, rpps: str) -> None:
    assert rpps_from_directory(raw) == rpps
