"""The demo region's patient. Entirely fictitious: name, birth date and INS are made up."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from imaging.models import Patient
from portal.demo import demo_user, seed_step


@seed_step(order=40)
def seed_patients(log: Callable[[str], None]) -> None:
    user = demo_user("helene.durand@patient.demo", "Hélène", "Durand")
    Patient.objects.get_or_create(
        ins="262045439512382",
        defaults={
            "user": user,
            "patient_name": "DURAND^Hélène",
            "patient_birth_date": datetime.date(1962, 4, 17),
            "patient_sex": Patient.Sex.FEMALE,
        },
    )
    log("patients : 1")
