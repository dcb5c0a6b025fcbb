"""The demo region's access: the GP's grant on Hélène Durand, an opposition, two emergency
accesses (one reviewed, one waiting for the auditor), and four months of decisions.

Every trace is written by ``access.decision`` itself, "as of" a past moment, in chronological
order so that the chain follows time.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from access.activation import code_hash, code_lifetime
from access.decision import Target, decide, decide_many
from access.models import AccessGrant, BreakGlassAccess, Opposition, PatientAccessCode
from audit.models import AccessEvent, Action, Channel
from audit.partitions import ensure_partitions
from establishments.demo import establishment
from imaging.demo import HELENE_INS
from imaging.models import ImagingStudy, Patient, PatientIdentifier
from portal.demo import seed_step
from portal.models import User

SEED = 6
DAYS = 120
HOSPITAL_RADIOLOGISTS = {
    "dr.radiologue@chr-metz-thionville.demo": "chr-metz-thionville",
    "dr.radiologue@chru-nancy.demo": "chru-nancy",
    "dr.radiologue@icl.demo": "icl",
}
GP = "dr.generaliste@cabinet-nancy.demo"
WITHOUT_RIGHT = "dr.sans-acces@cabinet-epinal.demo"
HELENE_EMAIL = "helene.durand@patient.demo"
# A printed access code for a patient of CHR Metz-Thionville without an account: a newcomer
# tries the activation with it (README, "Demo accounts").
DEMO_ACCESS_CODE = "DEMO-PATI-ENT1"
DEMO_CODE_PATIENT_ID = "MTZ-000002"


@dataclass(order=True)
class _Visit:
    """One page a user opened at ``at``: a patient's timeline, or a search."""

    at: datetime.datetime
    user_email: str
    patient_pk: int
    kind: str = "timeline"  # or "search"


def _user(email: str) -> User:
    return User.objects.get(email=email)


def _helene() -> Patient:
    return Patient.objects.get(ins=HELENE_INS)


def _patients_of(slug: str) -> list[Patient]:
    return list(
        Patient.objects.filter(
            identifiers__establishment=establishment(slug), merged_into__isnull=True
        )
        .exclude(ins=HELENE_INS)
        .distinct()
        .order_by("pk")
    )


def _working_moment(rng: random.Random, day: datetime.date) -> datetime.datetime:
    moment = datetime.datetime.combine(
        day, datetime.time(rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59))
    )
    return timezone.make_aware(moment)


@seed_step(order=50)
def seed_access(log: Callable[[str], None]) -> None:
    if AccessEvent.objects.exists():
        log("accès : trace déjà présente, rien à faire")
        return
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    now = timezone.now()
    start = now - datetime.timedelta(days=DAYS)
    ensure_partitions(first=start.date(), last=now.date())
    helene = _helene()
    metz = establishment("chr-metz-thionville")
    radiologist = _user("dr.radiologue@chr-metz-thionville.demo")
    gp = _user(GP)
    without_right = _user(WITHOUT_RIGHT)
    auditor = _user("auditeur@gcs.demo")

    AccessGrant.objects.create(
        practitioner=gp.practitioner,
        patient=helene,
        reason=AccessGrant.Reason.REFERRAL,
        comment="Suivi après scanner thoracique, adressée par son médecin traitant.",
        granted_by=radiologist,
        establishment=metz,
        valid_from=start,
        valid_until=now + datetime.timedelta(days=180),
    )
    opposed = _patients_of("chru-nancy")[0]
    Opposition.objects.create(
        patient=opposed,
        source=Opposition.Source.REFERENT,
        comment="Demande écrite du patient remise à l'accueil de l'imagerie.",
        recorded_by=_user("referent@chru-nancy.demo"),
        recorded_at=now - datetime.timedelta(days=30),
    )

    staff_patients = {slug: _patients_of(slug) for slug in HOSPITAL_RADIOLOGISTS.values()}
    visits: list[_Visit] = []
    for day_offset in range(DAYS, 0, -1):
        day = (now - datetime.timedelta(days=day_offset)).date()
        # A patient also looks at the weekend; cycles of 9 and 10 days move across the week,
        # so whatever day the seed runs, the GP and Hélène leave traces.
        if day_offset % 9 == 5:
            visits.append(_Visit(_working_moment(rng, day), HELENE_EMAIL, helene.pk))
        if day.weekday() >= 5:
            continue
        for email, slug in HOSPITAL_RADIOLOGISTS.items():
            patients = staff_patients[slug]
            for patient in rng.sample(patients, k=min(len(patients), rng.randint(0, 2))):
                visits.append(_Visit(_working_moment(rng, day), email, patient.pk))
        if day_offset % 10 == 3:
            visits.append(_Visit(_working_moment(rng, day), GP, helene.pk))
    # The GP looks up a patient who opposes sharing: refused.
    visits.append(_Visit(now - datetime.timedelta(days=20), GP, opposed.pk, "search"))

    # An emergency access 45 days ago, reviewed and found justified.
    earlier_patient = staff_patients["chr-metz-thionville"][0]
    reviewed = _emergency(
        without_right,
        earlier_patient,
        at=now - datetime.timedelta(days=45, hours=3),
        category=BreakGlassAccess.Category.UNCONSCIOUS,
        justification=(
            "Patient admis inconscient aux urgences de Remiremont après un accident de la route ; "
            "comparaison indispensable avec son scanner cérébral antérieur."
        ),
    )
    reviewed.review = BreakGlassAccess.Review.JUSTIFIED
    reviewed.reviewed_by = auditor
    reviewed.reviewed_at = now - datetime.timedelta(days=40)
    reviewed.review_comment = "Admission confirmée par le registre des urgences."
    reviewed.save()
    # One 10 days ago on Hélène, waiting in the auditor's queue and for her acknowledgment.
    pending = _emergency(
        without_right,
        helene,
        at=now - datetime.timedelta(days=10, hours=5),
        category=BreakGlassAccess.Category.URGENT_CONTINUITY,
        justification=(
            "Douleur thoracique aiguë en consultation de garde ; besoin du scanner thoracique "
            "récent pour écarter une embolie avant transfert."
        ),
    )
    for access in (reviewed, pending):
        search_at = access.opened_at - datetime.timedelta(minutes=2)
        visits.append(_Visit(search_at, WITHOUT_RIGHT, access.patient_id, "search"))
        for minutes in (1, 25, 70):
            moment = access.opened_at + datetime.timedelta(minutes=minutes)
            visits.append(_Visit(moment, WITHOUT_RIGHT, access.patient_id))

    users = {email: _user(email) for email in {visit.user_email for visit in visits}}
    records = Patient.objects.in_bulk({visit.patient_pk for visit in visits})
    decisions = 0
    for visit in sorted(visits):
        decisions += _replay(visit, users[visit.user_email], records[visit.patient_pk])
    log(
        f"accès : 1 autorisation, 1 opposition, 2 accès d'urgence, "
        f"{decisions} décisions tracées sur {DAYS} jours"
    )


def _emergency(
    user: User, patient: Patient, *, at: datetime.datetime, category: str, justification: str
) -> BreakGlassAccess:
    return BreakGlassAccess.objects.create(
        user=user,
        practitioner=user.practitioner,
        patient=patient,
        category=category,
        justification=justification,
        opened_at=at,
        expires_at=at + datetime.timedelta(hours=4),
        source_ip="10.54.12.7",
    )


def _replay(visit: _Visit, user: User, patient: Patient) -> int:
    """Decide what the page decided then; return how many decisions it took."""
    if visit.kind == "search":
        decide(user=user, patient=patient, action=Action.SEARCH, channel=Channel.WEB, at=visit.at)
        return 1
    decision = decide(
        user=user, patient=patient, action=Action.READ, channel=Channel.WEB, at=visit.at
    )
    if not decision.granted:
        return 1
    studies = ImagingStudy.objects.present().filter(patient=patient).order_by("-study_date")
    targets = [Target(patient, study) for study in studies]
    decide_many(user=user, targets=targets, action=Action.READ, channel=Channel.WEB, at=visit.at)
    return 1 + len(targets)


@seed_step(order=51)
def seed_access_code(log: Callable[[str], None]) -> None:
    identifier = (
        PatientIdentifier.objects.select_related("patient_record")
        .filter(establishment=establishment("chr-metz-thionville"), patient_id=DEMO_CODE_PATIENT_ID)
        .first()
    )
    if identifier is None or identifier.patient_record is None:
        return
    patient = identifier.patient_record
    if patient.user_id is not None:
        log(f"code d'accès patient : déjà utilisé ({patient.display_name})")
        return
    now = timezone.now()
    code, created = PatientAccessCode.objects.get_or_create(
        code_hash=code_hash(DEMO_ACCESS_CODE),
        defaults={
            "patient": patient,
            "establishment": identifier.establishment,
            "issued_by": _user("referent@chr-metz-thionville.demo"),
            "issued_at": now,
            "expires_at": now + code_lifetime(),
        },
    )
    if not created and code.used_at is None and code.expires_at <= now:
        # A demo database lives longer than a code: keep the demonstration's code usable.
        code.issued_at, code.expires_at = now, now + code_lifetime()
        code.failed_attempts, code.locked_at = 0, None
        code.save(update_fields=["issued_at", "expires_at", "failed_attempts", "locked_at"])
    birth = patient.patient_birth_date.strftime("%d/%m/%Y") if patient.patient_birth_date else "?"
    log(f"code d'accès patient : {DEMO_ACCESS_CODE} pour {patient.display_name}, né(e) le {birth}")
