"""The Celery application: Redis broker and results, JSON only, eager in the demonstration.

Settings live in portal/settings.py under the ``CELERY_`` prefix, the beat schedule included.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def idempotent_task(*args: Any, **options: Any) -> Any:
    """Declare a task that is safe to run twice.

    Such a task is acknowledged only once done and re-queued if its worker dies, so a crash
    never loses the work; the task's own code must make a replay harmless.
    """
    options.setdefault("acks_late", True)
    options.setdefault("reject_on_worker_lost", True)
    return app.task(*args, **options)


def queue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task`` once the current transaction commits, so it never reads rows that are
    not there yet; outside a transaction it is queued at once."""
    send: Callable[[], Any] = lambda: task.apply_async(args=args, kwargs=kwargs)  # noqa: E731
    transaction.on_commit(send)
