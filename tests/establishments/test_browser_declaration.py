"""A future director finds their establishment in the FINESS reference and declares it, in a
real browser: the HTMX autocomplete fills the form."""

from __future__ import annotations

from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

from establishments.models import DirectorApplication
from tests.browser_support import screenshot
from tests.establishments.factories import PDF_BYTES, FinessEntryFactory, closed_entry
from tests.factories import PASSWORD, UserFactory, enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_future_director_declares_their_establishment_from_the_reference(
    page,
    tmp_path: Path,
) -> None:
    user = UserFactory(email="claire.candidate@clinique.test", first_name="Claire")
    secret = enrol_totp(user)
    entry = FinessEntryFactory(name="HOPITAL DE MERCY", city="ARS-LAQUENEXY", finess="570000059")
    closed_entry(name="MATERNITE DE MERCY", city="METZ")
    proof = tmp_path / "arrete.pdf"
    proof.write_bytes(PDF_BYTES)

    page.goto("/accounts/login/?next=/adhesion/declarer/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_selector("#id_code")
    page.fill(
        "#id_code", format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    )
    page.press("#id_code", "Enter")
    page.wait_for_selector("h1:has-text('Déclarer mon établissement')")

    page.get_by_label("Nom, numéro FINESS ou commune").press_sequentially("merc", delay=30)
    page.wait_for_selector("#finess-results a:has-text('HOPITAL DE MERCY')")
    results = page.inner_text("#finess-results")
    assert "MATERNITE DE MERCY" in results
    assert "ne peut pas être déclaré" in results
    assert page.locator("#finess-results a:has-text('MATERNITE')").count() == 0

    page.click("#finess-results a:has-text('HOPITAL DE MERCY')")
    page.wait_for_function("document.querySelector('#id_finess_eg').value === '570000059'")
    assert page.input_value("#id_name") == "HOPITAL DE MERCY"
    assert page.input_value("#id_city") == "ARS-LAQUENEXY"
    assert page.inner_text("#finess-results").strip() == ""

    page.get_by_label("Votre fonction").fill("Directeur général")
    page.set_input_files("#id_proof", str(proof))
    screenshot(page, "establishments-declaration-form")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_selector("h1:has-text('Mes demandes')")
    assert "HOPITAL DE MERCY" in page.inner_text("main")

    application = DirectorApplication.objects.get()
    assert application.applicant == user
    assert application.finess_entry == entry
    assert application.proof_content_type == "application/pdf"
