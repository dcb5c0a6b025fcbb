"""factory_boy factories: the same objects users create, with valid identifiers."""

from __future__ import annotations

import datetime

import factory
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from stdnum import luhn

from establishments.models import Establishment, Membership
from imaging.models import Patient
from portal.models import User
from portal.services import user_create
from practitioners.models import Accreditation, Practitioner

PASSWORD = "un-mot-de-passe-de-test"


def with_luhn(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"personne{n}@exemple.test")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Testeur{n}")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        return user_create(
            email=str(kwargs["email"]),
            password=PASSWORD,
            first_name=str(kwargs.get("first_name", "")),
            last_name=str(kwargs.get("last_name", "")),
            email_verified=True,
        )


def enrol_totp(user: User) -> str:
    """Give ``user`` an authenticator app (TOTP); returns its secret for computing codes."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment

    finess_eg = factory.Sequence(lambda n: with_luhn(f"54{n:06d}"))
    finess_ej = factory.Sequence(lambda n: with_luhn(f"57{n:06d}"))
    name = factory.Sequence(lambda n: f"Centre hospitalier n°{n}")
    kind = Establishment.Kind.GENERAL_HOSPITAL
    status = Establishment.Status.MEMBER


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    establishment = factory.SubFactory(EstablishmentFactory)
    role = Membership.Role.STAFF


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    user = factory.SubFactory(UserFactory)
    rpps = factory.Sequence(lambda n: with_luhn(f"1098{n:06d}"))
    first_name = factory.SelfAttribute("user.first_name")
    last_name = factory.SelfAttribute("user.last_name")
    profession_code = "10"
    specialty_code = "SM44"


class AccreditationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Accreditation

    practitioner = factory.SubFactory(PractitionerFactory)
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    valid_until = factory.LazyAttribute(lambda o: o.valid_from + datetime.timedelta(days=365))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory)
    patient_name = "DURAND^Hélène"
    patient_birth_date = datetime.date(1962, 4, 17)
    patient_sex = Patient.Sex.FEMALE
