"""Fixtures of the billing tests: offers, a price list, a second establishment and its
director, files stored in a temporary folder."""

from __future__ import annotations

import pytest

from billing.models import Offer, PriceList
from establishments.models import Establishment, Membership
from portal.models import User
from tests.billing.factories import make_price_list
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path) -> None:
    # Generated PDFs go to a throwaway folder, never to the checkout's var/private.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }


@pytest.fixture
def price_list(offers: dict[str, Offer]) -> PriceList:
    return make_price_list()


@pytest.fixture
def other_hospital(db: None) -> Establishment:
    return EstablishmentFactory(name="Institut de Cancérologie", status="prospect")


@pytest.fixture
def other_director(other_hospital: Establishment) -> User:
    """The director of ANOTHER establishment: a stranger to the hospital's orders."""
    user = UserFactory(email="eve.directrice@icl.test", first_name="Ève", last_name="Ailleurs")
    enrol_totp(user)
    MembershipFactory(user=user, establishment=other_hospital, role=Membership.Role.DIRECTOR)
    return user
