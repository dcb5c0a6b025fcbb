"""The Celery app against a real worker process and Redis."""

from __future__ import annotations

import pytest

from portal.tasks import ping


@pytest.mark.worker
def test_a_real_worker_runs_a_task(celery_worker, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from portal.celery import app

    app.conf.task_always_eager = False
    try:
        result = ping.apply_async()
        assert result.get(timeout=20) == "pong"
    finally:
        app.conf.task_always_eager = True


def test_tasks_serialise_as_json_only() -> None:
    from portal.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_queue_on_commit_waits_for_the_commit(db, django_capture_on_commit_callbacks) -> None:
    from django.db import transaction

    from portal.celery import queue_on_commit

    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        queue_on_commit(ping)
    assert len(callbacks) == 1
