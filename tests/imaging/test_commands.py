"""``archive_source`` and ``sync_archive``: what operators script."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imaging.crypto import decrypt_secret
from imaging.models import ArchiveSource, ImagingStudy
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "orthanc-password"
    path.write_text("s3cret-du-portail\n")
    return path


def test_it_adds_lists_and_removes_an_archive(password_file) -> None:
    hospital = EstablishmentFactory(name="CHR Metz-Thionville")

    output = _run(
        "archive_source",
        "add",
        "--establishment",
        hospital.finess_eg,
        "--url",
        "http://127.0.0.1:8042/",
        "--username",
        "portail",
        "--password-file",
        str(password_file),
    )

    source = ArchiveSource.objects.get(establishment=hospital)
    assert "connectée" in output
    assert source.base_url == "http://127.0.0.1:8042"
    assert decrypt_secret(source.password_encrypted) == "s3cret-du-portail"
    assert "s3cret" not in source.password_encrypted
    listing = _run("archive_source", "list")
    assert hospital.finess_eg in listing
    assert "CHR Metz-Thionville" in listing
    assert "s3cret" not in listing

    _run("archive_source", "remove", "--establishment", hospital.finess_eg)
    assert not ArchiveSource.objects.exists()


@pytest.mark.parametrize(
    ("finess", "url", "password", "message"),
    [
        ("999999999", "http://127.0.0.1:8042", "file", "Aucun établissement"),
        (None, "ftp://archive", "file", "URL http:// ou https://"),
        (None, "http://127.0.0.1:8042", "missing", "illisible"),
        (None, "http://127.0.0.1:8042", "empty", "vide"),
    ],
)
def test_it_refuses_bad_input_with_one_line(
    tmp_path, password_file, finess, url, password, message
) -> None:
    hospital = EstablishmentFactory()
    path = {"file": password_file, "missing": tmp_path / "absent", "empty": tmp_path / "empty"}[
        password
    ]
    if password == "empty":
        path.write_text("\n")

    with pytest.raises(CommandError, match=message):
        _run(
            "archive_source",
            "add",
            "--establishment",
            finess or hospital.finess_eg,
            "--url",
            url,
            "--username",
            "portail",
            "--password-file",
            str(path),
        )
    assert not ArchiveSource.objects.exists()


def test_it_refuses_a_second_archive_for_one_establishment(password_file) -> None:
    hospital = EstablishmentFactory()
    args = ["--establishment", hospital.finess_eg, "--url", "http://127.0.0.1:1", "--username", "u"]
    _run("archive_source", "add", *args, "--password-file", str(password_file))

    with pytest.raises(CommandError, match="déjà une archive"):
        _run("archive_source", "add", *args, "--password-file", str(password_file))


def test_it_refuses_to_remove_a_missing_archive() -> None:
    hospital = EstablishmentFactory()
    with pytest.raises(CommandError, match="pas d'archive"):
        _run("archive_source", "remove", "--establishment", hospital.finess_eg)


def test_sync_archive_refuses_an_unknown_source() -> None:
    with pytest.raises(CommandError, match="inconnue"):
        _run("sync_archive", "--source", "4242", "--once")


def test_sync_archive_once_indexes_then_reconciles(archive_a, connect, put_study) -> None:
    source = connect(archive_a)
    _uid, study_id = put_study(archive_a, patient_id="CMD-1")
    archive_a.wait_stable([study_id])

    output = _run("sync_archive", "--source", str(source.pk), "--once")

    assert "1 examen(s) à jour" in output
    assert ImagingStudy.objects.filter(archive_id=study_id).exists()
    archive_a.client().delete_study(study_id)
    output = _run("sync_archive", "--reconcile")
    assert "1 marqué(s) supprimé(s)" in output
    assert ImagingStudy.objects.get(archive_id=study_id).deleted_at is not None


def test_sync_archive_exits_non_zero_when_an_archive_fails(connect, archive_a) -> None:
    source = connect(archive_a, password="mauvais")

    with pytest.raises(CommandError, match="1 archive"):
        _run("sync_archive", "--source", str(source.pk), "--once")


def test_a_new_address_starts_the_change_feed_over() -> None:
    from imaging.services import archive_source_update
    from tests.imaging.factories import ArchiveSourceFactory

    source = ArchiveSourceFactory(cursor=120, archive_last_seq=130)
    archive_source_update(source=source, base_url=source.base_url, username="u", enabled=True)
    source.refresh_from_db()
    assert source.cursor == 120  # same archive: the cursor stays

    archive_source_update(source=source, base_url="https://autre.test", username="u", enabled=True)
    source.refresh_from_db()
    assert (source.cursor, source.archive_last_seq) == (0, 0)
