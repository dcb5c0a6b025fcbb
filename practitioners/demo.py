"""The demo region's practitioners, their practice sites and the reference extract.

People and RPPS numbers are fictitious (10999999…). The radiologist practises at CHR
Metz-Thionville (care team: an active practice site and an accreditation in force), the two
city practitioners in their practices, and one request waits for the referent of CHR
Metz-Thionville.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils import timezone

from establishments.demo import establishment
from portal.demo import demo_user, seed_step
from practitioners import demo_directory  # noqa: F401 - the telephony directory's step (35)
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    IdentifierType,
    PracticeSite,
    Practitioner,
    PractitionerReference,
)

# e-mail, first name, last name, RPPS, specialty, practice site (establishment slug, or a city
# practice as (name, address, postal code, city))
CitySite = tuple[str, str, str, str]
ACCREDITED: list[tuple[str, str, str, str, str, str | CitySite]] = [
    (
        "dr.radiologue@chr-metz-thionville.demo",
        "Nicolas",
        "Keller",
        "10999999013",
        "SM44",
        "chr-metz-thionville",
    ),
    (
        "dr.radiologue@chru-nancy.demo",
        "Mathieu",
        "Collin",
        "10999999104",
        "SM44",
        "chru-nancy",
    ),
    (
        "dr.radiologue@icl.demo",
        "Camille",
        "Adam",
        "10999999112",
        "SM44",
        "icl",
    ),
    (
        "dr.generaliste@cabinet-nancy.demo",
        "Anne",
        "Petit",
        "10999999021",
        "SM54",
        ("Cabinet médical Stanislas", "12 rue Stanislas", "54000", "Nancy"),
    ),
    (
        "dr.sans-acces@cabinet-epinal.demo",
        "Luc",
        "Marchal",
        "10999999039",
        "SM54",
        ("Cabinet médical de la Moselotte", "4 quai des Bons Enfants", "88000", "Épinal"),
    ),
]
PENDING = ("dr.en-attente@cabinet-metz.demo", "Emma", "Roux", "10999999047", "SM44")

# The reference extract: the demo's practitioners and a few others (RPPS or ADELI, last name,
# first name, profession, specialty).
REFERENCES = [
    *[
        (rpps, last.upper(), first.upper(), "10", specialty)
        for _e, first, last, rpps, specialty, _s in ACCREDITED
    ],
    (PENDING[3], PENDING[2].upper(), PENDING[1].upper(), "10", PENDING[4]),
    ("10999999054", "MULLER", "CLAIRE", "10", "SM74"),
    ("10999999062", "THOMAS", "JULIEN", "10", "SM28"),
    ("10999999070", "HENRY", "SARAH", "10", "SM45"),
    ("10999999088", "FRANÇOIS", "MARC", "10", "SM26"),
    ("10999999096", "GÉRARD", "LÉA", "98", ""),
    ("549900017", "LEROY", "PAULINE", "60", ""),
]


def _seed_references() -> None:
    now = timezone.now()
    for number, last, first, profession, specialty in REFERENCES:
        field = "rpps" if len(number) == 11 else "adeli"
        PractitionerReference.objects.get_or_create(
            **{field: number},
            defaults={
                "last_name": last,
                "first_name": first,
                "profession_code": profession,
                "specialty_code": specialty,
                "imported_at": now,
            },
        )


def _practice_site(practitioner: Practitioner, site: str | CitySite) -> None:
    if isinstance(site, str):
        PracticeSite.objects.get_or_create(
            practitioner=practitioner, establishment=establishment(site)
        )
        return
    name, address, postal_code, city = site
    PracticeSite.objects.get_or_create(
        practitioner=practitioner,
        practice_name=name,
        defaults={"address": address, "postal_code": postal_code, "city": city},
    )


def _seed_pending_request() -> None:
    email, first, last, rpps, specialty = PENDING
    user = demo_user(email, first, last)
    if AccreditationRequest.objects.filter(user=user).exists():
        return
    request = AccreditationRequest.objects.create(
        user=user,
        identifier_type=IdentifierType.RPPS,
        identifier=rpps,
        last_name=last,
        first_name=first,
        profession_code="10",
        specialty_code=specialty,
        email=email,
        phone="03 87 00 00 47",
        purpose=(
            "Radiologue remplaçante au CHR Metz-Thionville : consulter les examens antérieurs "
            "des patients que j'interprète."
        ),
    )
    AccreditationRequestSite.objects.create(
        request=request, establishment=establishment("chr-metz-thionville")
    )
    AccreditationEvent.objects.create(
        kind=AccreditationEvent.Kind.SUBMITTED, request=request, actor=user
    )


@seed_step(order=30)
def seed_practitioners(log: Callable[[str], None]) -> None:
    _seed_references()
    started = timezone.localdate() - datetime.timedelta(days=180)
    for email, first, last, rpps, specialty, site in ACCREDITED:
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
        _practice_site(practitioner, site)
        if not practitioner.accreditations.exists():
            accreditation = Accreditation.objects.create(
                practitioner=practitioner,
                valid_from=started,
                valid_until=started + datetime.timedelta(days=365),
            )
            AccreditationEvent.objects.create(
                kind=AccreditationEvent.Kind.APPROVED,
                practitioner=practitioner,
                accreditation=accreditation,
                comment="Habilitation de démonstration",
            )
    _seed_pending_request()
    log(
        f"professionnels : {len(ACCREDITED)} habilités, 1 demande en attente, "
        f"{len(REFERENCES)} entrées du référentiel"
    )
