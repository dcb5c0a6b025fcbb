"""An archive's credentials towards the portal (the authorization web service) and its viewer
address: the source form, the services, the ``archive_source`` command, the verification."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from imaging import selectors
from imaging.models import ArchiveSource, render_viewer_url, validate_viewer_url
from imaging.services import archive_source_create, archive_source_update
from tests.factories import EstablishmentFactory
from tests.imaging.factories import ArchiveSourceFactory

pytestmark = pytest.mark.django_db

CALLBACK_PASSWORD = "un-secret-de-rappel-tres-long"
VIEWER_URL = (
    "https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs={study_instance_uid}&token={token}"
)


@pytest.fixture
def source(hospital) -> ArchiveSource:
    return ArchiveSourceFactory(establishment=hospital)


def _form(source: ArchiveSource | None = None, **fields: str) -> dict[str, str]:
    data = {
        "base_url": source.base_url if source else "https://pacs.chr.test/orthanc",
        "username": "portail",
        "password": "" if source else "s3cret",
        "enabled": "on",
        "callback_username": "",
        "callback_password": "",
        "viewer_url": "",
    }
    data.update(fields)
    return data


def _create(establishment: Any, **fields: str) -> ArchiveSource:
    """``archive_source_create`` with a reachable-looking address and the portal's user."""
    return archive_source_create(
        establishment=establishment,
        base_url="https://pacs.chr.test",
        username="portail",
        password="s3cret",
        **fields,
    )


def _update(source: ArchiveSource, **fields: str) -> ArchiveSource:
    """``archive_source_update`` keeping the address and the user, changing ``fields``."""
    return archive_source_update(
        source=source, base_url=source.base_url, username="portail", enabled=True, **fields
    )


# --- The viewer address template -----------------------------------------------------------------


def test_the_viewer_address_percent_encodes_its_values() -> None:
    url = render_viewer_url(VIEWER_URL, study_instance_uid="1.2.3", token="a/b+c d")

    assert url == "https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs=1.2.3&token=a%2Fb%2Bc%20d"


@pytest.mark.parametrize(
    "template",
    [
        VIEWER_URL,
        "http://127.0.0.1:8042/stone-webviewer/index.html?study={study_instance_uid}&token={token}",
        "https://pacs.test/ui/app/#/filtered-studies?StudyInstanceUID={study_instance_uid}"
        "&token={token}&x={{y}}",
    ],
)
def test_well_formed_viewer_addresses_are_accepted(template) -> None:
    validate_viewer_url(template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://pacs.test/viewer?study={study_instance_uid}", "doit contenir"),
        ("https://pacs.test/viewer?token={token}", "doit contenir"),
        ("https://pacs.test/{patient_id}?s={study_instance_uid}&t={token}", "Variable inconnue"),
        ("https://pacs.test/{0}?s={study_instance_uid}&t={token}", "Variable inconnue"),
        ("https://pacs.test/?s={study_instance_uid!r}&t={token}", "Variable inconnue"),
        ("https://pacs.test/?s={study_instance_uid:>9}&t={token}", "Variable inconnue"),
        ("https://pacs.test/?s={study_instance_uid&t={token}", "Accolade"),
        ("javascript:alert(1)//{study_instance_uid}{token}", "Adresse invalide"),
        ("ftp://pacs.test/{study_instance_uid}/{token}", "Adresse invalide"),
    ],
)
def test_malformed_viewer_addresses_are_refused_in_french(template, message) -> None:
    with pytest.raises(ValidationError) as error:
        validate_viewer_url(template)

    assert message in " ".join(error.value.messages)


# --- Services ------------------------------------------------------------------------------------


def test_only_a_hash_of_the_callback_password_is_kept(hospital) -> None:
    source = _create(
        hospital,
        callback_username="orthanc-chr",
        callback_password=CALLBACK_PASSWORD,
        viewer_url=VIEWER_URL,
    )

    source.refresh_from_db()
    assert source.callback_username == "orthanc-chr"
    assert CALLBACK_PASSWORD not in source.callback_password_hash
    assert check_password(CALLBACK_PASSWORD, source.callback_password_hash)
    assert source.viewer_url == VIEWER_URL
    assert source.has_callback_credentials


def test_a_callback_user_names_one_archive_only(hospital) -> None:
    ArchiveSourceFactory(callback_username="orthanc-chr", callback_password_hash="x")

    with pytest.raises(ValidationError) as error:
        _create(hospital, callback_username="orthanc-chr", callback_password=CALLBACK_PASSWORD)

    assert "déjà celui d'une autre archive" in str(error.value.message_dict["callback_username"])


@pytest.mark.parametrize(
    ("username", "password", "field", "message"),
    [
        ("orthanc-chr", "", "callback_password", "obligatoire"),
        ("orthanc-chr", "court", "callback_password", "au moins 16"),
        ("", CALLBACK_PASSWORD, "callback_username", "Indiquez l'utilisateur"),
    ],
)
def test_incomplete_callback_credentials_are_refused(
    hospital, username, password, field, message
) -> None:
    with pytest.raises(ValidationError) as error:
        _create(hospital, callback_username=username, callback_password=password)

    assert message in str(error.value.message_dict[field])
    assert not ArchiveSource.objects.exists()


def test_updating_keeps_the_callback_password_unless_a_new_one_is_given(source) -> None:
    _update(source, callback_username="orthanc-chr", callback_password=CALLBACK_PASSWORD)
    first_hash = source.callback_password_hash

    _update(source, callback_username="orthanc-chr-2", callback_password="")

    source.refresh_from_db()
    assert (source.callback_username, source.callback_password_hash) == (
        "orthanc-chr-2",
        first_hash,
    )

    _update(source, callback_username="")

    source.refresh_from_db()
    assert (source.callback_username, source.callback_password_hash) == ("", "")


def test_updating_without_the_new_arguments_changes_nothing_of_them(source) -> None:
    ArchiveSource.objects.filter(pk=source.pk).update(
        callback_username="orthanc-chr", callback_password_hash="h", viewer_url=VIEWER_URL
    )
    source.refresh_from_db()

    archive_source_update(source=source, base_url=source.base_url, username="u", enabled=True)

    source.refresh_from_db()
    assert (source.callback_username, source.callback_password_hash, source.viewer_url) == (
        "orthanc-chr",
        "h",
        VIEWER_URL,
    )


# --- Verifying the archive when it calls ---------------------------------------------------------


def test_the_archive_is_recognised_by_its_user_and_password(hospital, monkeypatch) -> None:
    source = _create(hospital, callback_username="orthanc-chr", callback_password=CALLBACK_PASSWORD)
    checks: list[str] = []
    original = selectors.check_password

    def counting(password: str, encoded: str) -> bool:
        checks.append(password)
        return original(password, encoded)

    monkeypatch.setattr(selectors, "check_password", counting)
    selectors._verified_callbacks.clear()

    found = selectors.archive_source_for_callback(
        username="orthanc-chr", password=CALLBACK_PASSWORD
    )
    again = selectors.archive_source_for_callback(
        username="orthanc-chr", password=CALLBACK_PASSWORD
    )

    assert found == again == source
    assert len(checks) == 1  # the slow hash runs once per process and credential
    assert selectors.archive_source_for_callback(username="orthanc-chr", password="faux") is None
    assert selectors.archive_source_for_callback(username="x", password=CALLBACK_PASSWORD) is None
    assert selectors.archive_source_for_callback(username="", password="") is None

    _update(
        source,
        callback_username="orthanc-chr",
        callback_password="un-tout-nouveau-secret-de-rappel",
    )

    old = selectors.archive_source_for_callback(username="orthanc-chr", password=CALLBACK_PASSWORD)
    assert old is None  # a changed password is verified again, and the old one refused


# --- Pages ---------------------------------------------------------------------------------------


def test_a_referent_sets_the_callback_credentials_and_the_viewer(
    client_for, referent, hospital
) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_create", args=[hospital.pk]),
        _form(
            callback_username="orthanc-chr",
            callback_password=CALLBACK_PASSWORD,
            viewer_url=VIEWER_URL,
        ),
    )

    assert response.status_code == 302
    source = ArchiveSource.objects.get(establishment=hospital)
    assert source.callback_username == "orthanc-chr"
    assert check_password(CALLBACK_PASSWORD, source.callback_password_hash)
    assert source.viewer_url == VIEWER_URL


def test_the_form_explains_callback_and_viewer_errors_in_french(
    client_for, referent, hospital
) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_create", args=[hospital.pk]),
        _form(
            callback_username="orthanc-chr",
            callback_password="court",
            viewer_url="https://pacs.test/{patient_id}",
        ),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "au moins 16 caractères" in page
    assert "Variable inconnue" in page
    assert not ArchiveSource.objects.exists()


def test_the_form_asks_the_password_with_a_new_callback_user(client_for, referent, source) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_edit", args=[source.pk]), _form(source, callback_username="o")
    )

    assert response.status_code == 200
    assert "Le mot de passe de l&#x27;archive auprès du portail est obligatoire" in (
        response.content.decode()
    )


def test_editing_keeps_the_callback_password_and_never_shows_it(
    client_for, referent, source
) -> None:
    _update(source, callback_username="orthanc-chr", callback_password=CALLBACK_PASSWORD)
    stored_hash = source.callback_password_hash
    client = client_for(referent)
    edit = client.get(reverse("imaging:source_edit", args=[source.pk])).content.decode()
    assert 'value="orthanc-chr"' in edit
    assert stored_hash not in edit
    assert "seule son empreinte est gardée" in edit

    response = client.post(
        reverse("imaging:source_edit", args=[source.pk]),
        _form(source, callback_username="orthanc-chr", viewer_url=VIEWER_URL),
    )

    assert response.status_code == 302
    source.refresh_from_db()
    assert source.callback_password_hash == stored_hash
    assert source.viewer_url == VIEWER_URL
    detail = client.get(reverse("imaging:source_detail", args=[source.pk])).content.decode()
    assert "orthanc-chr" in detail
    assert stored_hash not in detail
    assert "StudyInstanceUIDs={study_instance_uid}" in detail


def test_the_connection_test_ignores_the_portal_fields(client_for, referent, source) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_connection_test", args=[source.pk]),
        _form(source, callback_username="orthanc-chr", viewer_url="pas une adresse"),
        HTTP_HX_REQUEST="true",
    )

    # The stored password is tried on the (closed) stored address: a connection error, not
    # "complete the form".
    page = response.content.decode()
    assert "Complétez" not in page
    assert "injoignable" in page.lower() or "ne répond pas" in page


# --- The command ---------------------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def password_files(tmp_path):
    orthanc = tmp_path / "orthanc-password"
    orthanc.write_text("s3cret-du-portail\n")
    callback = tmp_path / "callback-password"
    callback.write_text(CALLBACK_PASSWORD + "\n")
    return orthanc, callback


def _add(establishment, orthanc, *extra: str) -> str:
    return _run(
        "archive_source",
        "add",
        "--establishment",
        establishment.finess_eg,
        "--url",
        "http://127.0.0.1:8042/",
        "--username",
        "portail",
        "--password-file",
        str(orthanc),
        *extra,
    )


def test_the_command_sets_callback_credentials_and_the_viewer(password_files) -> None:
    hospital = EstablishmentFactory()
    orthanc, callback = password_files

    _add(
        hospital,
        orthanc,
        "--callback-username",
        "orthanc-chr",
        "--callback-password-file",
        str(callback),
        "--viewer-url",
        VIEWER_URL,
    )

    source = ArchiveSource.objects.get(establishment=hospital)
    assert source.callback_username == "orthanc-chr"
    assert check_password(CALLBACK_PASSWORD, source.callback_password_hash)
    assert source.viewer_url == VIEWER_URL
    listing = _run("archive_source", "list")
    assert "orthanc-chr" in listing
    assert CALLBACK_PASSWORD not in listing


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--callback-username", "orthanc-chr"), "vont ensemble"),
        (("--callback-password-file", "CALLBACK"), "vont ensemble"),
        (
            ("--callback-username", "o", "--callback-password-file", "/nulle/part"),
            "illisible",
        ),
        (("--viewer-url", "https://pacs.test/?s={study_instance_uid}"), "doit contenir"),
    ],
)
def test_the_command_refuses_bad_callback_options_in_one_line(
    password_files, extra, message
) -> None:
    hospital = EstablishmentFactory()
    orthanc, callback = password_files
    extra = tuple(str(callback) if value == "CALLBACK" else value for value in extra)

    with pytest.raises(CommandError) as error:
        _add(hospital, orthanc, *extra)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not ArchiveSource.objects.exists()
