"""Factories of the imaging index (no archive needed)."""

from __future__ import annotations

import datetime

import factory
from pydicom.uid import generate_uid

from imaging.crypto import encrypt_secret
from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier
from tests.factories import EstablishmentFactory
from tests.imaging.orthanc_lab import closed_port_url


class ArchiveSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArchiveSource

    establishment = factory.SubFactory(EstablishmentFactory)
    base_url = factory.LazyFunction(closed_port_url)
    username = "portail"
    password_encrypted = factory.LazyFunction(lambda: encrypt_secret("le-mot-de-passe-stocke"))


class PatientRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = None
    patient_name = factory.Sequence(lambda n: f"PATIENT{n}^Camille")
    patient_birth_date = datetime.date(1970, 1, 1)


class PatientIdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientIdentifier

    establishment = factory.SubFactory(EstablishmentFactory)
    patient_id = factory.Sequence(lambda n: f"IPP{n:06d}")
    patient_record = factory.SubFactory(PatientRecordFactory)
    patient_name = factory.SelfAttribute("patient_record.patient_name")


class ImagingStudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImagingStudy

    study_instance_uid = factory.LazyFunction(generate_uid)
    patient_identifier = factory.SubFactory(PatientIdentifierFactory)
    patient = factory.SelfAttribute("patient_identifier.patient_record")
    establishment = factory.SelfAttribute("patient_identifier.establishment")
    study_date = datetime.date(2026, 1, 15)
    modalities = "CT"
