"""Factories of the practitioners app's own models (the shared ones are in tests/factories.py)."""

from __future__ import annotations

import factory
from django.utils import timezone

from practitioners.models import PracticeSite, PractitionerReference
from tests.factories import EstablishmentFactory, PractitionerFactory, with_luhn


class PractitionerReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PractitionerReference

    rpps = factory.Sequence(lambda n: with_luhn(f"1097{n:06d}"))
    last_name = "ROUX"
    first_name = "EMMA"
    profession_code = "10"
    specialty_code = "SM44"
    imported_at = factory.LazyFunction(timezone.now)


class PracticeSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticeSite

    practitioner = factory.SubFactory(PractitionerFactory)
    establishment = factory.SubFactory(EstablishmentFactory)
