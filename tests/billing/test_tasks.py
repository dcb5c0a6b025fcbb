"""The daily termination task, through a real worker."""

from __future__ import annotations

import pytest

from portal.celery import app


@pytest.mark.worker
def test_the_worker_knows_every_scheduled_task(celery_worker, settings) -> None:
    registered = set().union(*(app.control.inspect(timeout=5).registered() or {}).values())
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in registered
