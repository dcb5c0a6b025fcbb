"""Activation of the patient portal: the care team prints a code, the patient ties their
account to their record with it and their birth date. Expired, used, locked and wrong-date
codes are refused with the same sentence, which never tells whether a code exists."""

from __future__ import annotations

import datetime
import html
import re
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.activation import code_hash, code_normalize
from access.models import PatientAccessCode
from imaging.models import Patient
from portal.models import User
from tests.access.conftest import Record
from tests.factories import UserFactory
from tests.imaging.factories import PatientIdentifierFactory, PatientRecordFactory

pytestmark = pytest.mark.django_db

BIRTH_DATE = datetime.date(1962, 7, 14)
CODE_PATTERN = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
FAILURE = "ne permettent pas d'activer un espace patient"
ACTIVATE = "/mon-dossier/activer/"


@pytest.fixture
def unactivated(hospital) -> Patient:
    """A patient of the hospital with no account yet."""
    record = PatientRecordFactory(patient_name="MARTIN^Lucie", patient_birth_date=BIRTH_DATE)
    PatientIdentifierFactory(establishment=hospital, patient_record=record)
    return record


@pytest.fixture
def newcomer(db: None) -> User:
    """A fresh account with no role and no second factor: who activates."""
    return UserFactory(email="lucie.martin@exemple.test", first_name="Lucie", last_name="Martin")


def text(response) -> str:
    return html.unescape(response.content.decode())


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def print_code(client: Client, patient: Patient) -> tuple[str, bytes]:
    response = client.post(reverse("access:access-code-issue", args=[patient.pk]))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return response["Content-Disposition"], response.content


def issued_code(client_for, radiologist: User, patient: Patient, tmp_path: Path) -> str:
    _disposition, pdf = print_code(client_for(radiologist), patient)
    match = CODE_PATTERN.search(pdf_text(pdf, tmp_path))
    assert match, "the sheet prints the code"
    return match.group(0)


def attempt(client: Client, code: str, birth_date: datetime.date = BIRTH_DATE):
    return client.post(ACTIVATE, {"code": code, "birth_date": birth_date.isoformat()})


def test_the_care_team_prints_a_sheet_with_the_code_kept_only_as_a_hash(
    client_for, radiologist, unactivated, tmp_path
) -> None:
    disposition, pdf = print_code(client_for(radiologist), unactivated)
    text = pdf_text(pdf, tmp_path)
    code = CODE_PATTERN.search(text)
    assert code is not None
    assert "Lucie MARTIN" in text
    assert "14 juillet 1962" in text
    assert "/mon-dossier/activer/" in text
    assert "une seule fois" in text
    assert pdf.startswith(b"%PDF")
    assert "MARTIN" not in disposition  # a neutral file name
    record = PatientAccessCode.objects.get(patient=unactivated)
    assert record.code_hash == code_hash(code.group(0))
    assert code_normalize(code.group(0)) not in record.code_hash
    assert record.expires_at - record.issued_at == datetime.timedelta(days=30)


def test_a_new_code_cancels_the_previous_one(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    first = issued_code(client_for, radiologist, unactivated, tmp_path)
    issued_code(client_for, radiologist, unactivated, tmp_path)
    client = client_for(newcomer)
    response = attempt(client, first)
    assert response.status_code == 400
    assert FAILURE in text(response)


@pytest.mark.parametrize("who", ["gp", "director", "regional_admin", "auditor", "patient"])
def test_only_the_care_team_or_a_referent_prints_a_code(
    request, client_for, who, unactivated
) -> None:
    client = client_for(request.getfixturevalue(who))
    response = client.post(reverse("access:access-code-issue", args=[unactivated.pk]))
    assert response.status_code == 403
    assert not PatientAccessCode.objects.exists()


def test_a_referent_prints_a_code_too(client_for, referent, unactivated) -> None:
    print_code(client_for(referent), unactivated)
    assert PatientAccessCode.objects.filter(patient=unactivated, issued_by=referent).exists()


def test_no_code_for_a_patient_who_already_has_an_account(
    client_for, radiologist, record: Record
) -> None:
    response = client_for(radiologist).post(
        reverse("access:access-code-issue", args=[record.patient.pk]), follow=True
    )
    assert "déjà activé son espace patient" in text(response)
    assert not PatientAccessCode.objects.exists()


def test_the_patient_activates_with_the_code_and_birth_date(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    code = issued_code(client_for, radiologist, unactivated, tmp_path)
    client = client_for(newcomer)
    # No second factor is demanded of a new account on its way to becoming a patient.
    assert client.get(ACTIVATE).status_code == 200
    response = attempt(client, code.lower().replace("-", " "))
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_portal:welcome")
    unactivated.refresh_from_db()
    assert unactivated.user == newcomer
    used = PatientAccessCode.objects.get(patient=unactivated)
    assert used.used_by == newcomer
    assert used.used_at is not None
    page = text(client.get(reverse("patient_portal:welcome")))
    assert "double authentification" in page  # recommended, not forced
    assert client.get(reverse("patient_portal:exams")).status_code == 200


def test_a_used_code_cannot_serve_twice(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    code = issued_code(client_for, radiologist, unactivated, tmp_path)
    attempt(client_for(newcomer), code)
    someone_else = UserFactory(email="autre@exemple.test")
    response = attempt(client_for(someone_else), code)
    assert response.status_code == 400
    assert FAILURE in text(response)
    unactivated.refresh_from_db()
    assert unactivated.user == newcomer


def test_an_expired_code_is_refused(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    code = issued_code(client_for, radiologist, unactivated, tmp_path)
    PatientAccessCode.objects.update(
        issued_at=timezone.now() - datetime.timedelta(days=31),
        expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    response = attempt(client_for(newcomer), code)
    assert response.status_code == 400
    assert FAILURE in text(response)
    unactivated.refresh_from_db()
    assert unactivated.user is None


def test_five_wrong_birth_dates_lock_the_code(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    code = issued_code(client_for, radiologist, unactivated, tmp_path)
    client = client_for(newcomer)
    for _ in range(5):
        response = attempt(client, code, datetime.date(1962, 7, 15))
        assert response.status_code == 400
        assert FAILURE in text(response)
    record = PatientAccessCode.objects.get()
    assert record.failed_attempts == 5
    assert record.locked_at is not None
    # Locked: even the right birth date is refused, with the same words.
    response = attempt(client, code)
    assert FAILURE in text(response)
    unactivated.refresh_from_db()
    assert unactivated.user is None


def test_every_failure_reads_the_same_whether_the_code_exists_or_not(
    client_for, radiologist, unactivated, newcomer, tmp_path
) -> None:
    code = issued_code(client_for, radiologist, unactivated, tmp_path)
    client = client_for(newcomer)

    def message(response) -> str:
        found = re.search(r'role="alert">(.*?)</div>', text(response), re.S)
        assert found, text(response)[:2000]
        return found.group(1)

    wrong_date = message(attempt(client, code, datetime.date(1970, 1, 1)))
    unknown = message(attempt(client, "ABCD-EFGH-JKLM"))
    assert wrong_date == unknown
    assert FAILURE in unknown


def test_attempts_are_rate_limited_per_account(newcomer, client_for, settings) -> None:
    settings.PATIENT_ACTIVATION_ATTEMPTS = 3
    client = client_for(newcomer)
    for _ in range(3):
        assert attempt(client, "ABCD-EFGH-JKLM").status_code == 400
    response = attempt(client, "ABCD-EFGH-JKLM")
    assert response.status_code == 429
    assert "Trop d'essais" in text(response)


def test_attempts_are_rate_limited_per_address(client, settings) -> None:
    settings.PATIENT_ACTIVATION_ATTEMPTS = 2
    for number in range(3):
        client.force_login(UserFactory(email=f"essai{number}@exemple.test"))
        response = attempt(client, "ABCD-EFGH-JKLM")
    assert response.status_code == 429


def test_a_malformed_code_or_date_is_told_on_its_field(newcomer, client_for) -> None:
    client = client_for(newcomer)
    response = client.post(ACTIVATE, {"code": "ABC", "birth_date": "14/13/1962"})
    assert response.status_code == 400
    page = text(response)
    assert "Le code compte 12 caractères" in page
    assert "Indiquez une date valide" in page


def test_an_account_already_tied_to_a_record_goes_to_its_exams(client_for, patient) -> None:
    response = client_for(patient).get(ACTIVATE)
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_portal:exams")


def test_signed_out_the_page_explains_how_to_create_an_account(client) -> None:
    page = text(client.get(ACTIVATE))
    assert reverse("account_signup") in page
    assert "next=" in page


def test_a_merged_record_gets_no_code(client_for, radiologist, unactivated, hospital) -> None:
    survivor = PatientRecordFactory(patient_birth_date=BIRTH_DATE)
    PatientIdentifierFactory(establishment=hospital, patient_record=survivor)
    Patient.objects.filter(pk=unactivated.pk).update(merged_into=survivor)
    response = client_for(radiologist).post(
        reverse("access:access-code-issue", args=[unactivated.pk]), follow=True
    )
    assert "fusionné" in text(response)
    assert not PatientAccessCode.objects.exists()
