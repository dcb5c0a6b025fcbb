"""The periodic tasks call the services; once through a real worker against Redis."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from practitioners import tasks
from practitioners.models import Accreditation
from tests.factories import AccreditationFactory, PractitionerFactory


@pytest.mark.django_db
def test_the_tasks_expire_and_remind(practitioner, outsider) -> None:
    today = timezone.localdate()
    Accreditation.objects.filter(practitioner__user=practitioner).update(
        valid_until=today - datetime.timedelta(days=1)
    )
    Accreditation.objects.filter(practitioner__user=outsider).update(
        valid_until=today + datetime.timedelta(days=5)
    )
    assert tasks.expire_accreditations.delay().get() == 1
    assert tasks.send_renewal_reminders.delay(today.isoformat()).get() == 1
    assert tasks.send_renewal_reminders.delay().get() == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_expires_accreditations(request, monkeypatch, settings) -> None:
    # The worker process reads this test's database.
    db = connection.settings_dict
    monkeypatch.setenv(
        "DATABASE_URL", f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    request.getfixturevalue("celery_worker")
    accreditation = AccreditationFactory(
        practitioner=PractitionerFactory(user=None, first_name="Ana", last_name="Sans-Compte"),
        valid_from=datetime.date(2024, 1, 1),
        valid_until=datetime.date(2025, 1, 1),
    )
    from portal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        assert tasks.expire_accreditations.apply_async().get(timeout=30) == 1
    finally:
        app.conf.task_always_eager = True
    accreditation.refresh_from_db()
    assert accreditation.status == "expired"
