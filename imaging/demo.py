"""The demo region's imaging index: patients, archives and a few hundred studies at the three
founding members, without any Orthanc. Everything here is fictitious and marked ``demo``.

Deterministic (a fixed seed) and idempotent: identifiers and StudyInstanceUIDs are derived
from stable names, and existing rows are left alone.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Callable

from django.utils import timezone

from establishments.demo import establishment
from establishments.models import Establishment
from imaging.crypto import encrypt_secret
from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier
from portal.demo import demo_user, seed_step

HELENE_INS = "262045439512382"
SEED = 2026
# slug of the founder, prefix of its local patient ids, number of patients, studies
FOUNDERS = [
    ("chru-nancy", "NAN", 45, 130),
    ("icl", "ICL", 25, 70),
    ("chr-metz-thionville", "MTZ", 40, 110),
]
_UID_NAMESPACE = uuid.UUID("6f1d9a52-5a0e-4f0c-9d38-1e2b7c4a9e01")

FAMILY_NAMES = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFÈVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "FRANÇOIS",
    "MERCIER",
    "BLANC",
    "GUÉRIN",
    "MÜLLER",
    "SCHNEIDER",
    "KLEIN",
    "WEBER",
    "HOFFMANN",
    "N'DIAYE",
]
GIVEN_NAMES = [
    ("Chloé", "F"),
    ("Léa", "F"),
    ("Zoé", "F"),
    ("Anaïs", "F"),
    ("Maëlle", "F"),
    ("Noémie", "F"),
    ("Hélène", "F"),
    ("Françoise", "F"),
    ("Céline", "F"),
    ("Agnès", "F"),
    ("Jérôme", "M"),
    ("Théo", "M"),
    ("Raphaël", "M"),
    ("Loïc", "M"),
    ("François", "M"),
    ("Benoît", "M"),
    ("Émile", "M"),
    ("Gaëtan", "M"),
    ("Joël", "M"),
    ("Noël", "M"),
]
# (modalities, description, weight)
EXAMS = [
    ("CT,SR", "Scanner thoraco-abdomino-pelvien avec injection", 18),
    ("CT", "Scanner cérébral sans injection", 10),
    ("MR,SR", "IRM cérébrale", 12),
    ("MR", "IRM du genou droit", 8),
    ("DX", "Radiographie du thorax de face", 16),
    ("CR", "Radiographie du bassin", 5),
    ("US,SR", "Échographie abdominale", 10),
    ("MG,SR", "Mammographie de dépistage bilatérale", 9),
    ("PT,CT,SR", "TEP-TDM au 18F-FDG", 7),
    ("NM", "Scintigraphie osseuse corps entier", 5),
]


def _uid(*parts: object) -> str:
    """A stable StudyInstanceUID under the UUID-derived root 2.25 (PS3.5 B.2)."""
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, '/'.join(map(str, parts))).int}"


def _demo_source(place: Establishment, studies: int) -> ArchiveSource:
    source, _created = ArchiveSource.objects.get_or_create(
        establishment=place,
        defaults={
            # A fictitious address: the demo has no archive, so its sync stays disabled.
            "base_url": f"https://pacs.{place.finess_eg}.demo/orthanc",
            "username": "portail",
            "password_encrypted": encrypt_secret("demo"),
            "enabled": False,
            "cursor": studies * 7,
            "archive_last_seq": studies * 7,
            "last_success_at": timezone.now(),
            "last_attempt_at": timezone.now(),
            "demo": True,
        },
    )
    return source


def _identifier(
    place: Establishment, patient_id: str, *, name: str, sex: str, birth: datetime.date
) -> PatientIdentifier:
    identifier = (
        PatientIdentifier.objects.select_related("patient_record")
        .filter(establishment=place, patient_id=patient_id)
        .first()
    )
    if identifier is not None:
        return identifier
    patient = Patient.objects.create(
        patient_name=name, patient_birth_date=birth, patient_sex=sex, demo=True
    )
    return PatientIdentifier.objects.create(
        establishment=place,
        patient_id=patient_id,
        patient_record=patient,
        patient_name=name,
        patient_birth_date=birth,
        patient_sex=sex,
        demo=True,
    )


def _study(
    rng: random.Random,
    *,
    uid: str,
    identifier: PatientIdentifier,
    source: ArchiveSource,
    today: datetime.date,
    now: datetime.datetime,
) -> ImagingStudy:
    modalities, description, _weight = rng.choices(EXAMS, weights=[e[2] for e in EXAMS])[0]
    series = rng.randint(1, 6)
    return ImagingStudy(
        study_instance_uid=uid,
        patient=identifier.patient_record,
        patient_identifier=identifier,
        accession_number=f"{source.establishment.finess_eg[-4:]}{rng.randint(100000, 999999)}",
        study_date=today - datetime.timedelta(days=rng.randint(0, 420)),
        study_time=datetime.time(rng.randint(7, 19), rng.choice((0, 15, 30, 45))),
        modalities=modalities,
        study_description=description,
        series_count=series,
        instance_count=series * rng.randint(1, 240),
        establishment=source.establishment,
        report_available="SR" in modalities and rng.random() < 0.9,
        archive_id=str(uuid.uuid5(_UID_NAMESPACE, uid)),
        source=source,
        seen_at=now,
        demo=True,
    )


@seed_step(order=40)
def seed_patients(log: Callable[[str], None]) -> None:
    """Hélène Durand, the demo patient, known at CHRU de Nancy and at CHR Metz-Thionville."""
    user = demo_user("helene.durand@patient.demo", "Hélène", "Durand")
    helene, _created = Patient.objects.get_or_create(
        ins=HELENE_INS,
        defaults={
            "user": user,
            "patient_name": "DURAND^Hélène",
            "patient_birth_date": datetime.date(1962, 4, 17),
            "patient_sex": Patient.Sex.FEMALE,
            "demo": True,
        },
    )
    for slug, patient_id in (("chru-nancy", "NAN-000001"), ("chr-metz-thionville", "MTZ-000001")):
        PatientIdentifier.objects.get_or_create(
            establishment=establishment(slug),
            patient_id=patient_id,
            defaults={
                "patient_record": helene,
                "patient_name": "DURAND^Hélène" if slug == "chru-nancy" else "DURAND^HELENE",
                "patient_birth_date": helene.patient_birth_date,
                "patient_sex": Patient.Sex.FEMALE,
                "demo": True,
            },
        )
    log("patients : Hélène Durand, connue à Nancy et à Metz")


@seed_step(order=40)
def seed_studies(log: Callable[[str], None]) -> None:
    """A few hundred studies over the founders, with archives that look synced."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    today = timezone.localdate()
    now = timezone.now()
    studies: list[ImagingStudy] = []
    for slug, prefix, patient_count, study_count in FOUNDERS:
        place = establishment(slug)
        source = _demo_source(place, study_count)
        identifiers = []
        for number in range(2, patient_count + 1):
            given, sex = rng.choice(GIVEN_NAMES)
            identifiers.append(
                _identifier(
                    place,
                    f"{prefix}-{number:06d}",
                    name=f"{rng.choice(FAMILY_NAMES)}^{given}",
                    sex=sex,
                    birth=datetime.date(
                        rng.randint(1935, 2020), rng.randint(1, 12), rng.randint(1, 28)
                    ),
                )
            )
        helene = PatientIdentifier.objects.filter(
            establishment=place, patient_id=f"{prefix}-000001"
        ).first()
        for number in range(study_count):
            # Hélène has three studies at each establishment that knows her.
            owner = helene if helene is not None and number < 3 else rng.choice(identifiers)
            studies.append(
                _study(
                    rng,
                    uid=_uid(slug, number),
                    identifier=owner,
                    source=source,
                    today=today,
                    now=now,
                )
            )
    before = ImagingStudy.objects.filter(demo=True).count()
    ImagingStudy.objects.bulk_create(studies, ignore_conflicts=True, batch_size=200)
    created = ImagingStudy.objects.filter(demo=True).count() - before
    log(f"examens d'imagerie de démonstration : {created} créés, {len(studies)} au total")
