"""Fixtures of the practitioners tests, on top of the shared cast (tests/conftest.py).

The shared ``practitioner`` is accredited; here ``care_team_practitioner`` also practises at
``hospital`` (an active practice site: the care team of DESIGN.md), and ``applicant`` is a
signed-up user with a second factor and no role yet, whose RPPS is in the reference extract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from establishments.models import Establishment, Membership
from portal.models import User
from practitioners.models import IdentifierType, PracticeSite, PractitionerReference
from practitioners.services import AccreditationRequestData, CityPractice
from tests.factories import EstablishmentFactory, MembershipFactory, UserFactory, enrol_totp
from tests.practitioners.factories import PracticeSiteFactory, PractitionerReferenceFactory


@pytest.fixture
def applicant(db: None) -> User:
    user = UserFactory(email="emma.roux@cabinet.test", first_name="Emma", last_name="Roux")
    enrol_totp(user)
    return user


@pytest.fixture
def reference(db: None) -> PractitionerReference:
    return PractitionerReferenceFactory(last_name="ROUX", first_name="EMMA")


@pytest.fixture
def other_hospital(db: None) -> Establishment:
    return EstablishmentFactory(name="CHRU de Nancy")


@pytest.fixture
def other_referent(other_hospital: Establishment) -> User:
    """The referent of ANOTHER establishment than ``hospital``."""
    user = UserFactory(email="paul.referent@chru.test", first_name="Paul", last_name="Autre")
    enrol_totp(user)
    MembershipFactory(user=user, establishment=other_hospital, role=Membership.Role.REFERENT)
    return user


@pytest.fixture
def care_team_practitioner(practitioner: User, hospital: Establishment) -> User:
    """The shared accredited practitioner, practising at ``hospital``."""
    PracticeSiteFactory(practitioner=practitioner.practitioner, establishment=hospital)
    return practitioner


@pytest.fixture
def request_data(
    reference: PractitionerReference, hospital: Establishment
) -> Callable[..., AccreditationRequestData]:
    """``request_data(**overrides)``: a valid declaration naming ``hospital``."""

    def build(**overrides: Any) -> AccreditationRequestData:
        values: dict[str, Any] = {
            "identifier_type": IdentifierType.RPPS,
            "identifier": reference.rpps,
            "last_name": "Roux",
            "first_name": "Emma",
            "profession_code": "10",
            "specialty_code": "SM44",
            "email": "emma.roux@cabinet.test",
            "phone": "03 87 00 00 00",
            "purpose": "Interpréter les examens de mes patients.",
            "establishment_ids": (hospital.pk,),
            "city_practices": (),
        }
        values.update(overrides)
        return AccreditationRequestData(**values)

    return build


@pytest.fixture
def city_practice() -> CityPractice:
    return CityPractice(
        name="Cabinet médical Stanislas",
        address="1 rue Stanislas",
        postal_code="54000",
        city="Nancy",
    )


def active_site(user: User) -> PracticeSite:
    return PracticeSite.objects.get(practitioner__user=user, status=PracticeSite.Status.ACTIVE)
