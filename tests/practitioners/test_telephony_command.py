"""``manage.py sync_directory`` and the beat task, against a real slapd."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from establishments.models import Establishment
from practitioners.directory_sync import telephony_directory_save
from practitioners.directory_tasks import sync_telephony_directories
from practitioners.models import PracticeSite, TelephonyDirectory
from tests.factories import EstablishmentFactory
from tests.practitioners.ldap import directory_data as data
from tests.practitioners.ldap.fixtures import directory, practice_site, slapd, staff
from tests.practitioners.ldap.server import SlapdServer, free_port

__all__ = ["directory", "slapd", "staff"]

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_directory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def unreachable(slapd: SlapdServer) -> TelephonyDirectory:
    """A second establishment whose directory is down, with a practitioner it would suspend."""
    establishment = EstablishmentFactory(name="CH de Remiremont")
    practice_site(
        establishment,
        first_name="Paul",
        last_name="Vosges",
        directory_dn=f"cn=Paul Vosges,{data.PEOPLE_BASE}",
    )
    return telephony_directory_save(
        establishment=establishment,
        url=f"ldap://127.0.0.1:{free_port()}",
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
    )


def test_it_syncs_the_directory_of_one_establishment(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    out, _err = _run("--establishment", directory.establishment.finess_eg)

    assert out.strip() == (
        "CHR Metz-Thionville : 128 entrées, 5 rapprochées, 5 mises à jour, "
        "123 non rapprochées, 1 départ(s) signalé(s)."
    )
    assert PracticeSite.objects.get(pk=staff["keller"].pk).phone == "0387553131"


def test_it_changes_nothing_the_second_time(
    directory: TelephonyDirectory, staff: dict[str, PracticeSite]
) -> None:
    _run("--establishment", directory.establishment.finess_eg)

    out, _err = _run("--establishment", directory.establishment.finess_eg)

    assert "5 rapprochées, 0 mises à jour" in out
    assert "0 départ(s) signalé(s)" in out


def test_it_syncs_every_enabled_directory_and_reports_each_failure(
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
    unreachable: TelephonyDirectory,
) -> None:
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match=r"^1 annuaire\(s\) sur 2 en échec"):
        call_command("sync_directory", stdout=out, stderr=err)

    assert "CHR Metz-Thionville : 128 entrées" in out.getvalue()
    assert "CH de Remiremont : Le serveur d'annuaire 127.0.0.1:" in err.getvalue()
    still_there = PracticeSite.objects.get(establishment=unreachable.establishment)
    assert still_there.status == PracticeSite.Status.ACTIVE


def test_it_skips_disabled_directories(
    directory: TelephonyDirectory, unreachable: TelephonyDirectory
) -> None:
    TelephonyDirectory.objects.filter(pk=unreachable.pk).update(enabled=False)

    out, _err = _run()

    assert "CH de Remiremont" not in out
    unreachable.refresh_from_db()
    assert unreachable.last_sync_at is None


@pytest.mark.parametrize(
    ("finess", "message"),
    [
        ("999999999", "Aucun établissement n'a le FINESS 999999999."),
        ("pas-un-finess", "Aucun établissement n'a le FINESS pas-un-finess."),
    ],
)
def test_it_fails_on_an_unknown_finess(db: None, finess: str, message: str) -> None:
    with pytest.raises(CommandError) as raised:
        _run("--establishment", finess)

    assert str(raised.value) == message


def test_it_fails_for_an_establishment_without_a_directory(hospital: Establishment) -> None:
    with pytest.raises(CommandError, match="n'a pas d'annuaire téléphonique configuré"):
        _run("--establishment", hospital.finess_eg)


def test_it_fails_for_a_disabled_directory(directory: TelephonyDirectory) -> None:
    TelephonyDirectory.objects.filter(pk=directory.pk).update(enabled=False)

    with pytest.raises(CommandError, match="est désactivée"):
        _run("--establishment", directory.establishment.finess_eg)


def test_it_says_when_there_is_nothing_to_sync(db: None) -> None:
    out, _err = _run()

    assert out.strip() == "Aucun annuaire téléphonique actif."


def test_the_beat_task_syncs_every_enabled_directory(
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
    unreachable: TelephonyDirectory,
) -> None:
    outcome: dict[str, Any] = sync_telephony_directories.delay().get(timeout=60)

    assert outcome == {"synced": 1, "failed": 1}
    directory.refresh_from_db()
    unreachable.refresh_from_db()
    assert directory.last_success_at is not None
    assert "injoignable" in unreachable.last_error


@pytest.fixture
def worker_on_test_database(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The shared ``celery_worker``, pointed at this test's database (committed rows)."""
    from django.db import connection

    db = connection.settings_dict
    monkeypatch.setenv(
        "DATABASE_URL",
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
    )
    request.getfixturevalue("celery_worker")


@pytest.mark.worker
def test_the_beat_task_runs_in_a_real_worker(
    directory: TelephonyDirectory,
    staff: dict[str, PracticeSite],
    worker_on_test_database: None,
    settings: Any,
) -> None:
    from portal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        outcome = sync_telephony_directories.apply_async().get(timeout=60)
    finally:
        app.conf.task_always_eager = True

    assert outcome == {"synced": 1, "failed": 0}
    assert PracticeSite.objects.get(pk=staff["keller"].pk).phone == "0387553131"
