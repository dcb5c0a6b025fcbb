"""The access cast: one patient known at two establishments, the hospital's radiologist (care
team), a city GP (outside it) and the shared cast's users."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.test import Client
from django.test.client import ClientHandler
from django.utils import timezone

from access.models import AccessGrant, BreakGlassAccess, Opposition
from establishments.models import Establishment
from imaging.models import ImagingStudy, Patient
from portal.machine_wsgi import MachineHandler
from portal.models import User
from tests.factories import EstablishmentFactory, PatientFactory, UserFactory
from tests.imaging.factories import ImagingStudyFactory, PatientIdentifierFactory
from tests.practitioners.factories import PracticeSiteFactory


@dataclass
class Record:
    patient: Patient
    hospital_study: ImagingStudy
    clinic_study: ImagingStudy


@pytest.fixture
def clinic(db: None) -> Establishment:
    return EstablishmentFactory(name="Institut de Cancérologie de Lorraine")


@pytest.fixture
def record(patient: User, hospital: Establishment, clinic: Establishment) -> Record:
    """The cast patient's record, known at the hospital and at the clinic, one study at each."""
    person = patient.patient
    at_hospital = PatientIdentifierFactory(establishment=hospital, patient_record=person)
    at_clinic = PatientIdentifierFactory(establishment=clinic, patient_record=person)
    return Record(
        patient=person,
        hospital_study=ImagingStudyFactory(
            patient_identifier=at_hospital, study_date=datetime.date(2026, 3, 2)
        ),
        clinic_study=ImagingStudyFactory(
            patient_identifier=at_clinic, study_date=datetime.date(2026, 6, 9), modalities="MR"
        ),
    )


@pytest.fixture
def other_patient(hospital: Establishment) -> tuple[User, Record]:
    """Another patient of the hospital, with an account and a study with its report."""
    user = UserFactory(email="paul@patient.test", first_name="Paul", last_name="Autre")
    person = PatientFactory(user=user, patient_name="AUTRE^Paul")
    identifier = PatientIdentifierFactory(establishment=hospital, patient_record=person)
    study = ImagingStudyFactory(patient_identifier=identifier, report_available=True)
    return user, Record(patient=person, hospital_study=study, clinic_study=study)


@pytest.fixture
def radiologist(practitioner: User, hospital: Establishment) -> User:
    """The cast practitioner, with an active practice site at the hospital: its care team."""
    PracticeSiteFactory(practitioner=practitioner.practitioner, establishment=hospital)
    return practitioner


@pytest.fixture
def gp(outsider: User) -> User:
    """The cast's city practitioner: accredited, outside every care team."""
    return outsider


def grant_to(
    user: User,
    patient: Patient,
    *,
    by: User,
    days: int = 30,
    reason: str = AccessGrant.Reason.REFERRAL,
    **fields: object,
) -> AccessGrant:
    now = timezone.now()
    values: dict[str, object] = {
        "valid_from": now - datetime.timedelta(minutes=1),
        "valid_until": now + datetime.timedelta(days=days),
    }
    values.update(fields)
    return AccessGrant.objects.create(
        practitioner=user.practitioner, patient=patient, reason=reason, granted_by=by, **values
    )


def oppose(patient: Patient, *, by: User) -> Opposition:
    return Opposition.objects.create(
        patient=patient, source=Opposition.Source.REFERENT, recorded_by=by
    )


def break_glass(user: User, patient: Patient, *, hours: float = 4) -> BreakGlassAccess:
    now = timezone.now()
    return BreakGlassAccess.objects.create(
        user=user,
        practitioner=user.practitioner,
        patient=patient,
        category=BreakGlassAccess.Category.LIFE_THREATENING,
        justification="Patient inconscient aux urgences, bilan de traumatisme crânien.",
        opened_at=now - datetime.timedelta(minutes=1),
        expires_at=now + datetime.timedelta(hours=hours),
    )


class MachineClientHandler(ClientHandler):
    """The test client's handler with the middleware and URLconf of the archives' callback
    handler (``portal.machine_wsgi``), which serves ``/orthanc-auth/`` in production."""

    load_middleware = MachineHandler.load_middleware


@pytest.fixture(params=["machine", "portal"])
def callback_client(request: pytest.FixtureRequest) -> Client:
    """A client of the archives' callback: through the handler that serves it behind
    ``portal.wsgi`` (gunicorn, ``runserver``), and through the portal's own (the test server
    of the end-to-end tests)."""
    client = Client()
    if request.param == "machine":
        client.handler = MachineClientHandler(enforce_csrf_checks=False)
    return client
