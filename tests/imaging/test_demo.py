"""The demo region's imaging index: a few hundred fictitious studies, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[object, ...]:
    return (
        Patient.objects.count(),
        PatientIdentifier.objects.count(),
        sorted(ImagingStudy.objects.values_list("study_instance_uid", "patient_id", "study_date")),
        ArchiveSource.objects.count(),
    )


def test_seed_demo_builds_hundreds_of_demo_studies_once() -> None:
    call_command("seed_demo", verbosity=0)
    first = _snapshot()

    call_command("seed_demo", verbosity=0)

    assert _snapshot() == first
    studies = ImagingStudy.objects.all()
    assert 300 <= studies.count() <= 500
    assert not studies.filter(demo=False).exists()
    assert studies.values("establishment").distinct().count() == 3
    assert not ArchiveSource.objects.filter(enabled=True).exists()  # no archive to reach
    helene = Patient.objects.get(user__email="helene.durand@patient.demo")
    places = set(helene.studies.values_list("establishment__name", flat=True))
    assert places == {"CHRU de Nancy", "CHR Metz-Thionville"}
    assert helene.identifiers.count() == 2
