"""A signed-in person declares the establishment they direct, with a proof of function."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from establishments.models import DirectorApplication, Establishment
from tests.establishments.factories import (
    EXECUTABLE_BYTES,
    JPEG_BYTES,
    NEW_FINESS_EG,
    PNG_BYTES,
    FinessEntryFactory,
    closed_entry,
    proof_file,
    submit_application,
)
from tests.factories import with_luhn

pytestmark = pytest.mark.django_db

DECLARE = reverse("establishments:declare")


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "finess_eg": NEW_FINESS_EG,
        "finess_ej": "",
        "siret": "",
        "name": "Clinique des Vosges",
        "kind": Establishment.Kind.PRIVATE_CLINIC,
        "address": "3 rue des Sapins",
        "postal_code": "88000",
        "city": "Épinal",
        "finess_entry": "",
        "function": "Directeur général",
        "proof": proof_file(),
    }
    data.update(overrides)
    return data


def test_it_sends_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get(DECLARE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/adhesion/declarer/" in response["Location"]


def test_it_shows_the_declaration_form_to_a_user_with_no_role(client_for, applicant) -> None:
    response = client_for(applicant).get(DECLARE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Déclarer mon établissement</h1>" in page
    for field_id in ("id_finess_eg", "id_name", "id_kind", "id_function", "id_proof"):
        assert f'id="{field_id}"' in page
    assert 'hx-get="/adhesion/finess/"' in page
    assert "Envoyer ma demande" in page


def test_it_records_a_declaration_by_hand(client_for, applicant, private_storage) -> None:
    response = client_for(applicant).post(
        DECLARE, _form(finess_ej=with_luhn("88000001"), siret="772 201 489 00022")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("establishments:my_applications")
    application = DirectorApplication.objects.get()
    assert application.applicant == applicant
    assert application.status == DirectorApplication.Status.SUBMITTED
    assert application.finess_eg == NEW_FINESS_EG
    assert application.siret == "77220148900022"
    assert application.function == "Directeur général"
    assert application.finess_entry is None
    assert application.establishment is None
    assert not Establishment.objects.filter(finess_eg=NEW_FINESS_EG).exists()


def test_it_stores_the_proof_privately_under_a_random_name(
    client_for, applicant, private_storage
) -> None:
    client = client_for(applicant)
    client.post(DECLARE, _form(proof=proof_file(name="Claire Candidate CNI.pdf")))
    application = DirectorApplication.objects.get()
    assert "Candidate" not in application.proof.name
    assert application.proof.name.startswith("director-proofs/")
    assert application.proof.name.endswith(".pdf")
    assert application.proof_content_type == "application/pdf"
    assert (private_storage / application.proof.name).is_file()
    # No URL of the site serves the storage's files.
    assert client.get("/" + application.proof.name).status_code == 404
    assert client.get(default_storage.url(application.proof.name)).status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "content_type", "expected"),
    [
        (PNG_BYTES, "scan.png", "image/png", "image/png"),
        (JPEG_BYTES, "photo.jpeg", "image/jpeg", "image/jpeg"),
        # The type comes from the bytes, not from the name or what the browser claims.
        (PNG_BYTES, "scan.pdf", "application/pdf", "image/png"),
    ],
)
def test_it_accepts_png_and_jpeg_proofs_by_their_content(
    client_for, applicant, content, name, content_type, expected
) -> None:
    client_for(applicant).post(DECLARE, _form(proof=proof_file(content, name, content_type)))
    assert DirectorApplication.objects.get().proof_content_type == expected


@pytest.mark.parametrize(
    "content",
    [EXECUTABLE_BYTES, b"Je suis bien le directeur, croyez-moi.\n", b""],
    ids=["executable", "plain-text", "empty"],
)
def test_it_refuses_a_pdf_named_proof_whose_bytes_are_not_a_pdf(
    client_for, applicant, content
) -> None:
    response = client_for(applicant).post(
        DECLARE, _form(proof=proof_file(content, "arrete.pdf", "application/pdf"))
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "fichier PDF, PNG ou JPEG" in page or "Le fichier soumis est vide" in page
    assert not DirectorApplication.objects.exists()


def test_it_refuses_an_oversized_proof(client_for, applicant, settings) -> None:
    settings.ESTABLISHMENT_PROOF_MAX_BYTES = 1024
    big = b"%PDF-1.4\n" + b"0" * 2048
    response = client_for(applicant).post(DECLARE, _form(proof=proof_file(big)))
    assert response.status_code == 400
    assert "dépasse la taille maximale de 1,0" in response.content.decode()
    assert not DirectorApplication.objects.exists()


def test_it_accepts_a_proof_at_the_size_limit(client_for, applicant, settings) -> None:
    settings.ESTABLISHMENT_PROOF_MAX_BYTES = 1024
    exact = b"%PDF-1.4\n" + b"0" * (1024 - 9)
    response = client_for(applicant).post(DECLARE, _form(proof=proof_file(exact)))
    assert response.status_code == 302


def test_it_requires_a_proof(client_for, applicant) -> None:
    data = _form()
    del data["proof"]
    response = client_for(applicant).post(DECLARE, data)
    assert response.status_code == 400
    assert not DirectorApplication.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("finess_eg", "540002699", "La clé du numéro FINESS est incorrecte."),
        ("finess_eg", "54000269", "Le numéro FINESS doit comporter 9 caractères."),
        ("finess_eg", "", "Ce champ est obligatoire."),
        ("finess_ej", "57000516X", "Le numéro FINESS ne doit comporter que des chiffres"),
        ("siret", "77220148900023", "La clé du numéro SIRET est incorrecte."),
        ("postal_code", "8800", "Le code postal doit comporter 5 chiffres."),
        ("kind", "hopital", "Sélectionnez un choix valide"),
        ("function", "", "Ce champ est obligatoire."),
    ],
)
def test_it_refuses_bad_identity_fields_with_a_french_message(
    client_for, applicant, field, value, message
) -> None:
    response = client_for(applicant).post(DECLARE, _form(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DirectorApplication.objects.exists()


def test_it_refuses_a_second_open_declaration_of_the_same_finess(client_for, applicant) -> None:
    submit_application(applicant)
    response = client_for(applicant).post(DECLARE, _form())
    assert response.status_code == 400
    assert "déjà une demande en cours" in response.content.decode()
    assert DirectorApplication.objects.count() == 1


def test_the_database_keeps_one_open_declaration_per_user_and_finess(applicant) -> None:
    from django.db import IntegrityError, transaction

    first = submit_application(applicant)
    with pytest.raises(IntegrityError), transaction.atomic():
        DirectorApplication.objects.create(
            applicant=applicant,
            finess_eg=first.finess_eg,
            name="Doublon",
            kind=first.kind,
            function="Directeur",
            proof="director-proofs/x.pdf",
            proof_content_type="application/pdf",
        )


def test_it_allows_a_new_declaration_once_the_previous_one_is_withdrawn(
    client_for, applicant
) -> None:
    client = client_for(applicant)
    first = submit_application(applicant)
    response = client.post(reverse("establishments:application_withdraw", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == DirectorApplication.Status.WITHDRAWN
    assert client.post(DECLARE, _form()).status_code == 302
    assert DirectorApplication.objects.count() == 2


def test_it_allows_declaring_an_establishment_that_already_has_a_director(
    client_for, applicant, director, hospital
) -> None:
    response = client_for(applicant).post(
        DECLARE, _form(finess_eg=hospital.finess_eg, name=hospital.name)
    )
    assert response.status_code == 302
    assert DirectorApplication.objects.get().finess_eg == hospital.finess_eg


def test_it_refuses_an_establishment_closed_in_the_finess_reference(client_for, applicant) -> None:
    entry = closed_entry()
    response = client_for(applicant).post(DECLARE, _form(finess_eg=entry.finess))
    assert response.status_code == 400
    page = response.content.decode()
    assert "fermé dans le référentiel FINESS" in page
    assert "3 mars 2019" in page
    assert not DirectorApplication.objects.exists()


def test_it_links_the_finess_entry_that_was_picked(client_for, applicant) -> None:
    entry = FinessEntryFactory()
    client_for(applicant).post(
        DECLARE, _form(finess_eg=entry.finess, finess_entry=entry.finess, name=entry.name)
    )
    assert DirectorApplication.objects.get().finess_entry == entry


def test_it_does_not_link_an_entry_of_another_number(client_for, applicant) -> None:
    entry = FinessEntryFactory()
    client_for(applicant).post(DECLARE, _form(finess_entry=entry.finess))
    assert DirectorApplication.objects.get().finess_entry is None


def test_it_shows_the_applicant_their_declarations(client_for, applicant, outsider) -> None:
    submit_application(applicant)
    submit_application(outsider, finess_eg=with_luhn("88000002"), name="Autre clinique")
    page = client_for(applicant).get(reverse("establishments:my_applications")).content.decode()
    assert "Clinique des Vosges" in page
    assert "En attente d&#x27;examen" in page
    assert "Autre clinique" not in page


def test_it_refuses_to_withdraw_someone_elses_declaration(client_for, applicant, outsider) -> None:
    theirs = submit_application(outsider)
    response = client_for(applicant).post(
        reverse("establishments:application_withdraw", args=[theirs.pk])
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == DirectorApplication.Status.SUBMITTED
