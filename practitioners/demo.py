"""The demo region's practitioners. RPPS numbers are fictitious (10999999…)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils import timezone

from establishments.demo import establishment
from establishments.models import Membership
from portal.demo import demo_user, seed_step
from practitioners.models import Accreditation, Practitioner

# e-mail, first name, last name, RPPS, specialty, accredited, staff of (establishment slug)
PRACTITIONERS = [
    (
        "dr.radiologue@chr-metz-thionville.demo",
        "Nicolas",
        "Keller",
        "10999999013",
        "SM44",
        True,
        "chr-metz-thionville",
    ),
    ("dr.generaliste@cabinet-nancy.demo", "Anne", "Petit", "10999999021", "SM54", True, None),
    ("dr.sans-acces@cabinet-epinal.demo", "Luc", "Marchal", "10999999039", "SM54", True, None),
    ("dr.en-attente@cabinet-metz.demo", "Emma", "Roux", "10999999047", "SM54", False, None),
]


@seed_step(order=30)
def seed_practitioners(log: Callable[[str], None]) -> None:
    started = timezone.localdate() - datetime.timedelta(days=60)
    for email, first, last, rpps, specialty, accredited, staff_of in PRACTITIONERS:
        user = demo_user(email, first, last)
        practitioner, _ = Practitioner.objects.get_or_create(
            rpps=rpps,
            defaults={
                "user": user,
                "first_name": first,
                "last_name": last,
                "profession_code": "10",
                "specialty_code": specialty,
                "email": email,
            },
        )
        if accredited and not practitioner.accreditations.exists():
            Accreditation.objects.create(
                practitioner=practitioner,
                valid_from=started,
                valid_until=started + datetime.timedelta(days=365),
            )
        if staff_of:
            Membership.objects.active().get_or_create(
                user=user, establishment=establishment(staff_of), role=Membership.Role.STAFF
            )
    log(f"professionnels : {len(PRACTITIONERS)} (dont 1 demande en attente)")
