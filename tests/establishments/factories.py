"""Factories of the establishments tests: FINESS reference entries, proofs, applications and
invitations made through the same services users trigger."""

from __future__ import annotations

import datetime

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from establishments.models import DirectorApplication, Establishment, FinessEntry, Invitation
from establishments.services import director_application_submit, invitation_create
from portal.models import User
from tests.factories import with_luhn

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
EXECUTABLE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def proof_file(
    content: bytes = PDF_BYTES,
    name: str = "arrete-de-nomination.pdf",
    content_type: str = "application/pdf",
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


class FinessEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinessEntry

    finess = factory.Sequence(lambda n: with_luhn(f"57{n + 500000:06d}"))
    level = FinessEntry.Level.SITE
    finess_ej = factory.Sequence(lambda n: with_luhn(f"57{n + 600000:06d}"))
    siret = "77220148900022"
    name = factory.Sequence(lambda n: f"CENTRE HOSPITALIER DE TEST {n}")
    category_code = "355"
    category_label = "Centre Hospitalier (C.H.)"
    address = "1 RUE DE L'HOPITAL"
    postal_code = "57000"
    city = "METZ"
    department = "57"


def closed_entry(**fields: object) -> FinessEntry:
    return FinessEntryFactory(closed_on=datetime.date(2019, 3, 3), **fields)


# A FINESS géographique that passes the check and is in no other fixture.
NEW_FINESS_EG = with_luhn("88078010")


def submit_application(
    applicant: User,
    *,
    finess_eg: str = NEW_FINESS_EG,
    name: str = "Clinique des Vosges",
    **fields: object,
) -> DirectorApplication:
    values: dict[str, object] = {
        "kind": Establishment.Kind.PRIVATE_CLINIC,
        "function": "Directeur général",
        "postal_code": "88000",
        "city": "Épinal",
        "proof": proof_file(),
        **fields,
    }
    return director_application_submit(
        applicant=applicant,
        finess_eg=finess_eg,
        name=name,
        **values,  # type: ignore[arg-type]
    )


def invite(
    establishment: Establishment,
    inviter: User,
    *,
    email: str = "nouvelle.referente@chr.test",
    role: str = Invitation.Role.REFERENT,
) -> tuple[Invitation, str]:
    return invitation_create(
        establishment=establishment, email=email, role=role, invited_by=inviter
    )
