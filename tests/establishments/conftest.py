"""Fixtures of the establishments tests: private storage in a temporary folder, an applicant
with no role (MFA enrolled, as the portal demands of such accounts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.models import User
from tests.factories import UserFactory, enrol_totp


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path: Path) -> Path:
    location = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location, "base_url": None},
        },
    }
    return location


@pytest.fixture
def applicant(db: None) -> User:
    user = UserFactory(
        email="claire.candidate@clinique.test", first_name="Claire", last_name="Candidate"
    )
    enrol_totp(user)
    return user
