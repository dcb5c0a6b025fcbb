"""Celery tasks of the archive sync: in-process, and once through a real worker."""

from __future__ import annotations

import datetime
import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from imaging.models import ArchiveSource, ImagingStudy
from imaging.tasks import reconcile_all_sources, sync_due_sources, sync_source
from tests.imaging.orthanc_lab import closed_port_url


@pytest.mark.django_db
def test_the_scheduler_queues_due_archives_only(connect, archive_a, monkeypatch) -> None:
    due = connect(archive_a)
    backing_off = connect(archive_a)
    ArchiveSource.objects.filter(pk=backing_off.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    disabled = connect(archive_a)
    ArchiveSource.objects.filter(pk=disabled.pk).update(enabled=False)
    running = connect(archive_a)
    ArchiveSource.objects.filter(pk=running.pk).update(state=ArchiveSource.State.RUNNING)
    queued: list[int] = []
    monkeypatch.setattr(sync_source, "apply_async", lambda args: queued.append(args[0]))

    assert sync_due_sources() == 1

    assert queued == [due.pk]
    assert ArchiveSource.objects.get(pk=due.pk).state == ArchiveSource.State.QUEUED


@pytest.mark.django_db
def test_the_scheduler_takes_over_from_a_dead_run(connect, archive_a, monkeypatch) -> None:
    stuck = connect(archive_a)
    ArchiveSource.objects.filter(pk=stuck.pk).update(
        state=ArchiveSource.State.RUNNING, updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    queued: list[int] = []
    monkeypatch.setattr(sync_source, "apply_async", lambda args: queued.append(args[0]))

    sync_due_sources()

    assert queued == [stuck.pk]


@pytest.mark.django_db
def test_the_sync_task_records_an_unreachable_archive(connect, archive_a) -> None:
    source = connect(archive_a, base_url=closed_port_url())

    result = sync_source.apply(args=(source.pk,)).get()

    assert result == {"error": "unreachable"}
    source.refresh_from_db()
    assert source.state == ArchiveSource.State.FAILED


@pytest.mark.django_db
def test_the_nightly_task_queues_every_enabled_archive(connect, archive_a, monkeypatch) -> None:
    first = connect(archive_a)
    second = connect(archive_a)
    ArchiveSource.objects.filter(pk=second.pk).update(enabled=False)
    from imaging.tasks import reconcile_source

    queued: list[int] = []
    monkeypatch.setattr(reconcile_source, "apply_async", lambda args: queued.append(args[0]))

    assert reconcile_all_sources() == 1
    assert queued == [first.pk]


@pytest.fixture
def worker_database(transactional_db, monkeypatch) -> None:
    """Point the worker process at this test database (it must be set before it starts)."""
    monkeypatch.setenv(
        "DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"
    )


@pytest.mark.worker
def test_a_real_worker_syncs_an_archive(
    worker_database, celery_worker, connect, archive_a, put_study, settings
) -> None:
    assert os.environ["DATABASE_URL"].endswith(connection.settings_dict["NAME"])
    source = connect(archive_a)
    _uid, study_id = put_study(archive_a, patient_id="W-1")
    archive_a.wait_stable([study_id])
    from portal.celery import app

    app.conf.task_always_eager = False
    try:
        result = sync_source.apply_async(args=(source.pk,))
        assert result.get(timeout=30) == {"done": True, "studies": 1}
    finally:
        app.conf.task_always_eager = True
    deadline = time.monotonic() + 5
    while not ImagingStudy.objects.filter(archive_id=study_id).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    source.refresh_from_db()
    assert source.state == ArchiveSource.State.IDLE
