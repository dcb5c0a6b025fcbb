"""Archive screens: referents of the establishment and regional administrators only."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from establishments.models import Membership
from imaging.crypto import decrypt_secret
from imaging.models import ArchiveSource, ImagingStudy
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp
from tests.imaging.factories import ArchiveSourceFactory, ImagingStudyFactory

pytestmark = pytest.mark.django_db

# The layout's own queries (session, user, roles, navigation) plus the page's.
MAX_PAGE_QUERIES = 15

STORED_PASSWORD = "le-mot-de-passe-stocke"


@pytest.fixture
def source(hospital) -> ArchiveSource:
    return ArchiveSourceFactory(establishment=hospital)


@pytest.fixture
def other_source() -> ArchiveSource:
    return ArchiveSourceFactory(establishment=EstablishmentFactory(name="CH de Remiremont"))


@pytest.fixture
def other_referent(other_source):
    user = UserFactory(email="referent@ailleurs.test")
    enrol_totp(user)
    MembershipFactory(
        user=user, establishment=other_source.establishment, role=Membership.Role.REFERENT
    )
    return user


def _query_count(client, url: str) -> int:
    client.get(url)  # warm the process-wide caches (content types, sites...) first
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_referent_sees_their_establishments_archive_only(
    client_for, referent, source, other_source, django_assert_max_num_queries
) -> None:
    ImagingStudyFactory.create_batch(3, establishment=source.establishment, source=source)
    client = client_for(referent)

    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        response = client.get(reverse("imaging:source_list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert source.establishment.name in page
    assert other_source.establishment.name not in page
    assert response.context["sources"][0].study_count == 3


def test_a_regional_admin_sees_every_archive(
    client_for, regional_admin, source, other_source
) -> None:
    client = client_for(regional_admin)
    url = reverse("imaging:source_list")
    few = _query_count(client, url)
    for _ in range(4):
        ImagingStudyFactory(source=ArchiveSourceFactory())
    assert _query_count(client, url) == few  # one query for the archives, whatever their number
    ArchiveSource.objects.exclude(pk__in=[source.pk, other_source.pk]).delete()

    response = client.get(url)

    assert [s.pk for s in response.context["sources"]] == sorted(
        [source.pk, other_source.pk],
        key=lambda pk: ArchiveSource.objects.get(pk=pk).establishment.name,
    )
    assert reverse("imaging:study_volumes") in response.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "source_detail",
        "source_edit",
        "source_progress",
        "source_connection_test",
        "source_sync_now",
    ],
)
def test_a_referent_of_another_establishment_gets_404(
    client_for, other_referent, source, name
) -> None:
    client = client_for(other_referent)
    url = reverse(f"imaging:{name}", args=[source.pk])
    method = client.post if name in ("source_connection_test", "source_sync_now") else client.get

    assert method(url).status_code == 404


@pytest.mark.parametrize("who", ["director", "practitioner", "outsider", "patient"])
def test_other_roles_are_refused(request, client_for, source, who) -> None:
    client = client_for(request.getfixturevalue(who))

    assert client.get(reverse("imaging:source_list")).status_code == 403
    assert client.get(reverse("imaging:source_detail", args=[source.pk])).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, source) -> None:
    response = client.get(reverse("imaging:source_detail", args=[source.pk]))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_detail_page_shows_state_lag_error_and_never_the_password(
    client_for, referent, source
) -> None:
    ArchiveSource.objects.filter(pk=source.pk).update(
        cursor=40,
        archive_last_seq=52,
        state=ArchiveSource.State.FAILED,
        last_error="Archive injoignable à l'adresse http://127.0.0.1:1 (connexion impossible).",
        last_error_kind=ArchiveSource.ErrorKind.UNREACHABLE,
        failure_count=3,
        last_report={
            "mode": "sync",
            "finished_at": timezone.now().isoformat(),
            "changes_read": 7,
            "studies_upserted": 1,
            "studies_deleted": 0,
            "patients_created": 1,
            "ins_links": 0,
            "findings_total": 1,
            "findings": [
                {"code": "missing_study_date", "study": "1.2.3", "tag": "StudyDate", "detail": ""}
            ],
        },
    )

    page = (
        client_for(referent)
        .get(reverse("imaging:source_detail", args=[source.pk]))
        .content.decode()
    )

    assert "12 changements en attente" in page
    assert "Archive injoignable" in page
    assert "3 échecs consécutifs" in page
    assert "Date d&#x27;examen absente" in page
    assert "Synchroniser maintenant" in page
    assert STORED_PASSWORD not in page
    edit = (
        client_for(referent).get(reverse("imaging:source_edit", args=[source.pk])).content.decode()
    )
    assert STORED_PASSWORD not in edit
    assert "laissez vide pour le conserver" in edit


def test_a_referent_connects_their_establishments_archive(client_for, referent, hospital) -> None:
    client = client_for(referent)
    url = reverse("imaging:source_create", args=[hospital.pk])
    assert hospital.name in client.get(reverse("imaging:source_list")).content.decode()

    response = client.post(
        url,
        {
            "base_url": "https://pacs.chr.test/orthanc/",
            "username": "portail",
            "password": "s3cret",
            "enabled": "on",
        },
    )

    source = ArchiveSource.objects.get(establishment=hospital)
    assert response.status_code == 302
    assert response["Location"] == reverse("imaging:source_detail", args=[source.pk])
    assert source.base_url == "https://pacs.chr.test/orthanc"
    assert decrypt_secret(source.password_encrypted) == "s3cret"


def test_a_referent_cannot_connect_another_establishments_archive(client_for, referent) -> None:
    elsewhere = EstablishmentFactory()

    response = client_for(referent).post(
        reverse("imaging:source_create", args=[elsewhere.pk]),
        {"base_url": "https://pacs.test", "username": "u", "password": "p"},
    )

    assert response.status_code == 404
    assert not ArchiveSource.objects.exists()


def test_the_form_explains_its_errors_in_french(client_for, referent, hospital) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_create", args=[hospital.pk]),
        {"base_url": "pas une adresse", "username": "", "password": ""},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Saisissez une URL valide" in page
    assert "Le mot de passe est obligatoire" in page
    assert not ArchiveSource.objects.exists()


def test_editing_without_a_password_keeps_the_stored_one(client_for, referent, source) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_edit", args=[source.pk]),
        {"base_url": source.base_url, "username": "autre", "password": ""},
    )

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.username, source.enabled) == ("autre", False)
    assert decrypt_secret(source.password_encrypted) == STORED_PASSWORD


def test_the_stored_password_is_never_sent_to_a_new_address(client_for, referent, source) -> None:
    response = client_for(referent).post(
        reverse("imaging:source_connection_test", args=[source.pk]),
        {"base_url": "https://ailleurs.test", "username": "portail", "password": ""},
        HTTP_HX_REQUEST="true",
    )

    assert "saisissez le mot de passe" in response.content.decode()


def test_connection_test_tells_success_and_bad_credentials(client_for, referent, archive_a) -> None:
    client = client_for(referent)
    url = reverse("imaging:connection_test")
    good = {
        "base_url": archive_a.url,
        "username": archive_a.username,
        "password": archive_a.password,
    }

    ok = client.post(url, good, HTTP_HX_REQUEST="true").content.decode()
    refused = client.post(
        url, {**good, "password": "faux"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "Connexion réussie" in ok
    assert "ARCHIVE-A" in ok
    assert "refuse les identifiants" in refused


def test_connection_test_of_a_saved_archive_uses_its_stored_password(
    client_for, referent, hospital, archive_a, connect
) -> None:
    source = connect(archive_a, hospital)

    response = client_for(referent).post(
        reverse("imaging:source_connection_test", args=[source.pk]),
        {"base_url": source.base_url, "username": source.username, "password": ""},
    )

    assert "Connexion réussie" in response.content.decode()


def test_sync_now_queues_the_sync_then_the_progress_shows_its_outcome(
    client_for,
    referent,
    hospital,
    archive_a,
    connect,
    put_study,
    django_capture_on_commit_callbacks,
) -> None:
    source = connect(archive_a, hospital)
    _uid, study_id = put_study(archive_a, patient_id="NOW-1")
    archive_a.wait_stable([study_id])
    client = client_for(referent)
    progress_url = reverse("imaging:source_progress", args=[source.pk])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("imaging:source_sync_now", args=[source.pk]), HTTP_HX_REQUEST="true"
        )
        queued = response.content.decode()
        assert "Synchronisation demandée" in queued
        assert 'hx-trigger="every 1s"' in queued  # the page polls the progress...
        assert f'hx-get="{progress_url}"' in queued
    assert len(callbacks) == 1  # ...while the task, queued on commit, runs (in-process here)

    finished = client.get(progress_url).content.decode()
    assert "Dernière synchronisation réussie" in finished
    assert "hx-trigger" not in finished  # finished: no more polling
    source.refresh_from_db()
    assert source.state == ArchiveSource.State.IDLE
    assert source.studies.count() == 1


def test_sync_now_then_shows_the_error_of_an_unreachable_archive(
    client_for, referent, source, django_capture_on_commit_callbacks
) -> None:
    client = client_for(referent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imaging:source_sync_now", args=[source.pk]), HTTP_HX_REQUEST="true")

    page = client.get(reverse("imaging:source_progress", args=[source.pk])).content.decode()

    assert "injoignable" in page
    assert "Prochaine tentative automatique" in page


def test_sync_now_without_htmx_goes_back_to_the_archive_page(client_for, referent, source) -> None:
    response = client_for(referent).post(reverse("imaging:source_sync_now", args=[source.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("imaging:source_detail", args=[source.pk])


def test_the_progress_fragment_polls_while_the_sync_runs(client_for, referent, source) -> None:
    ArchiveSource.objects.filter(pk=source.pk).update(
        state=ArchiveSource.State.RUNNING, progress_done=30, progress_total=120
    )
    url = reverse("imaging:source_progress", args=[source.pk])

    page = client_for(referent).get(url).content.decode()

    assert 'hx-trigger="every 1s"' in page
    assert f'hx-get="{url}"' in page
    assert "30 changements lus sur 120" in page
    assert '<progress max="120" value="30"' in page


def test_regional_admins_see_the_study_volume_by_month(
    client_for, regional_admin, source, django_assert_max_num_queries
) -> None:
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    ImagingStudyFactory.create_batch(2, establishment=source.establishment, study_date=today)
    ImagingStudyFactory(establishment=source.establishment, study_date=last_month)
    ImagingStudyFactory(
        establishment=source.establishment, study_date=today, deleted_at=timezone.now()
    )
    ImagingStudyFactory(
        establishment=source.establishment, study_date=today - datetime.timedelta(days=800)
    )

    client = client_for(regional_admin)
    few = _query_count(client, reverse("imaging:study_volumes"))
    ImagingStudyFactory.create_batch(5, study_date=today)  # five more establishments
    assert _query_count(client, reverse("imaging:study_volumes")) == few
    ImagingStudy.objects.exclude(establishment=source.establishment).delete()

    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        response = client.get(reverse("imaging:study_volumes"))

    table = response.context["table"]
    establishment, values, total = table.rows[0]
    assert establishment == source.establishment
    assert values[-1] == 2
    assert values[-2] == 1
    assert total == 3
    assert len(table.months) == 12


def test_referents_do_not_see_the_regional_volume(client_for, referent) -> None:
    assert client_for(referent).get(reverse("imaging:study_volumes")).status_code == 403


def test_the_home_panels_show_the_archive(client_for, referent, regional_admin, source) -> None:
    referent_home = client_for(referent).get(reverse("home")).content.decode()
    assert "Archive d'imagerie" in referent_home
    assert reverse("imaging:source_list") in referent_home

    admin_home = client_for(regional_admin).get(reverse("home")).content.decode()
    assert "archives connectées" in admin_home
    assert reverse("imaging:study_volumes") in admin_home
