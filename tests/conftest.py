"""The shared cast, one user per role (STYLE.md), and helpers for signed-in clients.

Staff and practitioners of the cast have enrolled an authenticator app, as the portal demands;
tests of MFA enforcement build their own users without one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from billing.models import Offer
from establishments.models import Establishment, Membership
from portal import local_cache
from portal.models import User
from portal.roles import GROUP_ROLES, Role
from portal.services import user_grant_group_role
from tests.billing.factories import OFFERS
from tests.browser_support import browser, page  # noqa: F401 - shared browser fixtures
from tests.factories import (
    AccreditationFactory,
    EstablishmentFactory,
    MembershipFactory,
    PatientFactory,
    PractitionerFactory,
    UserFactory,
    enrol_totp,
)


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Give every database test the rows data migrations create (offers, role groups).

    A transactional test (browser journeys) ends with a flush that empties every table, data
    migrations' rows included; tests that run after it in the same process would miss them.
    """
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("offers")
        for role in GROUP_ROLES:
            Group.objects.get_or_create(name=role.value)


@pytest.fixture(scope="session", autouse=True)
def _audit_partitions(django_db_setup: None, django_db_blocker: Any) -> None:
    """The access trail's monthly partitions around today: a reused test database may have been
    migrated months ago, when the migration created partitions around that day."""
    from django.db import connection

    from audit.partitions import ensure_current_partitions

    settings = connection.settings_dict
    if settings["NAME"] != settings.get("TEST", {}).get("NAME"):
        return  # no test of this session uses the database: none was set up
    with django_db_blocker.unblock():
        ensure_current_partitions()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Rate-limit counters, cached sessions and per-process answers must not leak from one test
    # to the next.
    cache.clear()
    local_cache.clear_all()


def _staff(**names: str) -> User:
    user = UserFactory(**names)
    enrol_totp(user)
    return user


@pytest.fixture
def hospital(db: None) -> Establishment:
    return EstablishmentFactory(name="CHR Metz-Thionville")


@pytest.fixture
def regional_admin(db: None) -> User:
    user = _staff(email="alice.admin@ars.test", first_name="Alice", last_name="Admin")
    user_grant_group_role(user=user, role=Role.REGIONAL_ADMIN)
    return user


@pytest.fixture
def auditor(db: None) -> User:
    user = _staff(email="olivier.audit@gcs.test", first_name="Olivier", last_name="Audit")
    user_grant_group_role(user=user, role=Role.AUDITOR)
    return user


@pytest.fixture
def director(hospital: Establishment) -> User:
    user = _staff(email="bob.directeur@chr.test", first_name="Bob", last_name="Directeur")
    MembershipFactory(user=user, establishment=hospital, role=Membership.Role.DIRECTOR)
    return user


@pytest.fixture
def referent(hospital: Establishment) -> User:
    user = _staff(email="rose.referente@chr.test", first_name="Rose", last_name="Référente")
    MembershipFactory(user=user, establishment=hospital, role=Membership.Role.REFERENT)
    return user


@pytest.fixture
def practitioner(hospital: Establishment) -> User:
    """An accredited radiologist on the hospital's staff: sees its patients."""
    user = _staff(email="dr.charlie@chr.test", first_name="Charlie", last_name="Radiologue")
    AccreditationFactory(practitioner=PractitionerFactory(user=user))
    MembershipFactory(user=user, establishment=hospital, role=Membership.Role.STAFF)
    return user


@pytest.fixture
def outsider(db: None) -> User:
    """An accredited city practitioner with no link to any patient."""
    user = _staff(email="dr.dan@cabinet.test", first_name="Dan", last_name="Dehors")
    AccreditationFactory(practitioner=PractitionerFactory(user=user, specialty_code="SM54"))
    return user


@pytest.fixture
def patient(db: None) -> User:
    user = UserFactory(email="helene@patient.test", first_name="Hélène", last_name="Durand")
    PatientFactory(user=user)
    return user


@pytest.fixture
def offers(db: None) -> dict[str, Offer]:
    """The three offers of the data migration (re-created if a transactional test flushed them)."""
    result = {}
    for position, (code, name) in enumerate(OFFERS, start=1):
        offer, _ = Offer.objects.get_or_create(
            code=code, defaults={"name": name, "position": position}
        )
        result[code] = offer
    return result


@pytest.fixture
def client_for(client: Client) -> Callable[[User], Client]:
    """``client_for(user)``: the test client, signed in as ``user``."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def celery_worker(tmp_path) -> Iterator[None]:
    """A real Celery worker process consuming this test process's Redis queue."""
    from portal.celery import app

    pidfile = tmp_path / "worker.pid"
    env = {**os.environ, "PORTAL_ENV": "test", "PORTAL_TASKS_EAGER": "false"}
    name = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}@%h"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
            "-n",
            name,
            f"--pidfile={pidfile}",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)
