"""The demo region's establishments, with a director and a referent for each founder.

FINESS numbers pass the national check; for authoritative values load the FINESS extract
(``import_finess``).
"""

from __future__ import annotations

from collections.abc import Callable

from establishments.models import Establishment, Membership
from portal.demo import demo_user, seed_step

Kind = Establishment.Kind
Status = Establishment.Status

# (slug for the e-mail addresses, FINESS EJ, FINESS EG, name, kind, city, postal code, status)
ESTABLISHMENTS = [
    (
        "chru-nancy",
        "540023264",
        "540002698",
        "CHRU de Nancy",
        Kind.UNIVERSITY_HOSPITAL,
        "Vandœuvre-lès-Nancy",
        "54500",
        Status.MEMBER,
    ),
    (
        "icl",
        "540000056",
        "540001286",
        "Institut de Cancérologie de Lorraine",
        Kind.CANCER_CENTRE,
        "Vandœuvre-lès-Nancy",
        "54519",
        Status.MEMBER,
    ),
    (
        "chr-metz-thionville",
        "570005165",
        "570000059",
        "CHR Metz-Thionville",
        Kind.UNIVERSITY_HOSPITAL,
        "Ars-Laquenexy",
        "57530",
        Status.MEMBER,
    ),
    (
        "ch-remiremont",
        "",
        "880780069",
        "CH de Remiremont",
        Kind.GENERAL_HOSPITAL,
        "Remiremont",
        "88200",
        Status.MEMBER,
    ),
    (
        "ch-ouest-vosgien",
        "",
        "880780077",
        "CH de l'Ouest Vosgien",
        Kind.GENERAL_HOSPITAL,
        "Neufchâteau",
        "88300",
        Status.MEMBER,
    ),
    (
        "gie-callot",
        "",
        "540019726",
        "GIE Imagerie Callot",
        Kind.IMAGING_PRACTICE,
        "Nancy",
        "54000",
        Status.PROSPECT,
    ),
]

# slug -> (director's first and last name, referent's first and last name)
TEAMS = {
    "chru-nancy": (("Bernard", "Dufour"), ("Sophie", "Lambert")),
    "icl": (("Isabelle", "Moreau"), ("Thomas", "Girard")),
    "chr-metz-thionville": (("Marc", "Schmitt"), ("Julie", "Weber")),
    "ch-remiremont": (("Catherine", "Vogel"), ("Hugo", "Perrin")),
}

# A declaration waiting in the regional administrators' queue.
PENDING_DIRECTOR = ("directeur@gie-callot.demo", "Pierre", "Callot", "gie-callot")
# The smallest well-formed PDF: the demo's stand-in for a proof of function.
DEMO_PROOF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def establishment(slug: str) -> Establishment:
    """A demo establishment by the slug of its e-mail domain (for other apps' demo steps)."""
    finess_eg = next(row[2] for row in ESTABLISHMENTS if row[0] == slug)
    return Establishment.objects.get(finess_eg=finess_eg)


@seed_step(order=20)
def seed_establishments(log: Callable[[str], None]) -> None:
    for _slug, ej, eg, name, kind, city, postal_code, status in ESTABLISHMENTS:
        Establishment.objects.get_or_create(
            finess_eg=eg,
            defaults={
                "finess_ej": ej,
                "name": name,
                "kind": kind,
                "city": city,
                "postal_code": postal_code,
                "department": postal_code[:2],
                "status": status,
            },
        )
    for slug, (director, referent) in TEAMS.items():
        place = establishment(slug)
        for role, mailbox, (first, last) in (
            (Membership.Role.DIRECTOR, "directeur", director),
            (Membership.Role.REFERENT, "referent", referent),
        ):
            user = demo_user(f"{mailbox}@{slug}.demo", first, last)
            Membership.objects.active().get_or_create(user=user, establishment=place, role=role)
    _seed_pending_application()
    log(
        f"établissements : {len(ESTABLISHMENTS)}, directeurs et référents : {2 * len(TEAMS)}, "
        "1 demande d'adhésion en attente"
    )


def _seed_pending_application() -> None:
    from django.core.files.base import ContentFile

    from establishments.selectors import applications_of
    from establishments.services import director_application_submit

    email, first, last, slug = PENDING_DIRECTOR
    user = demo_user(email, first, last)
    if applications_of(user=user).exists():
        return
    place = establishment(slug)
    director_application_submit(
        applicant=user,
        finess_eg=place.finess_eg,
        name=place.name,
        kind=place.kind,
        function="Administrateur du GIE",
        proof=ContentFile(DEMO_PROOF, name="justificatif.pdf"),
        postal_code=place.postal_code,
        city=place.city,
    )
