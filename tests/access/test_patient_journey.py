"""In a real Chromium: a patient creates an account, confirms their address, activates their
space with the code printed by the hospital, sees their exams of two establishments, finds the
city GP's consultation in the history, takes the GP's access back, and the GP is then refused."""

from __future__ import annotations

import datetime
import re

import pytest

from access.activation import access_code_issue
from access.decision import decide
from audit.models import AccessEvent, Action, Channel, Rule
from tests.access.conftest import grant_to
from tests.access.test_journey import _totp_secret
from tests.browser_support import screenshot, sign_in
from tests.factories import PASSWORD
from tests.imaging.factories import (
    ImagingStudyFactory,
    PatientIdentifierFactory,
    PatientRecordFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "lucie.martin@exemple.test"
NEW_PASSWORD = "une-phrase-de-passe-solide-2026"


def test_the_patient_activates_reads_the_history_and_takes_the_gps_access_back(
    browser, page, live_server, mailoutbox, gp, radiologist, hospital, clinic
) -> None:
    lucie = PatientRecordFactory(
        patient_name="MARTIN^Lucie", patient_birth_date=datetime.date(1962, 7, 14)
    )
    ImagingStudyFactory(
        patient_identifier=PatientIdentifierFactory(establishment=hospital, patient_record=lucie),
        study_date=datetime.date(2026, 3, 2),
        study_description="Scanner thoracique",
    )
    ImagingStudyFactory(
        patient_identifier=PatientIdentifierFactory(establishment=clinic, patient_record=lucie),
        study_date=datetime.date(2026, 6, 9),
        modalities="MR",
        study_description="IRM cérébrale",
    )
    code = access_code_issue(by=radiologist, patient=lucie, establishment=hospital).code
    grant_to(gp, lucie, by=radiologist, establishment=hospital)
    # The GP looked at her record last week: the history will name them.
    decide(user=gp, patient=lucie, action=Action.READ, channel=Channel.WEB)

    # 1. An account, its address confirmed through the e-mail, then the code.
    page.goto("/mon-dossier/activer/")
    page.get_by_role("link", name="créez votre compte").click()
    page.fill("#id_email", EMAIL)
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mailoutbox[-1].body)
    assert link, mailoutbox[-1].body
    page.goto(link.group(0))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_selector("h1:has-text('Activer mon espace patient')")
    page.get_by_label("Code d'accès").fill(code.lower())
    page.get_by_label("Votre date de naissance").fill("1962-07-14")
    page.get_by_role("button", name="Activer mon espace").click()
    page.wait_for_selector("h1:has-text('Bienvenue dans votre espace patient')")
    assert "double authentification" in page.inner_text("main")
    screenshot(page, "patient-journey-welcome")

    # 2. Her exams at both establishments, newest first.
    page.get_by_role("link", name="Voir mes examens et comptes rendus").click()
    page.wait_for_selector("h1:has-text('Mes examens d\\'imagerie')")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 2
    assert "Institut de Cancérologie de Lorraine" in rows.nth(0).inner_text()
    assert "CHR Metz-Thionville" in rows.nth(1).inner_text()
    screenshot(page, "patient-journey-exams")

    # 3. Who looked: the GP, through the hospital's grant (keyboard: follow the link by Enter).
    page.get_by_role("link", name="Qui a consulté mes examens").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Qui a consulté mes examens')")
    history = page.inner_text("main")
    assert "Dan Dehors" in history
    assert "accès ouvert par CHR Metz-Thionville" in history
    screenshot(page, "patient-journey-history")

    # 4. She takes the GP's access back.
    page.get_by_role("link", name="Mes choix de partage").first.click()
    page.get_by_role("button", name="Retirer l'accès de Dan Dehors").click()
    page.wait_for_selector("text=il ne voit plus vos images")
    screenshot(page, "patient-journey-revoked")

    # 5. The GP opens her record: refused.
    gp_context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    gp_page = gp_context.new_page()
    try:
        sign_in(gp_page, email=gp.email, password=PASSWORD, totp_secret=_totp_secret(gp))
        response = gp_page.goto(f"/patients/{lucie.pk}/")
        assert response is not None
        assert response.status == 403
        assert "MARTIN" not in gp_page.inner_text("main").upper()
        screenshot(gp_page, "patient-journey-gp-refused")
    finally:
        gp_context.close()
    last = AccessEvent.objects.filter(actor_id=gp.pk, patient_id=lucie.pk).order_by("-id")[0]
    assert (last.granted, last.rule) == (False, Rule.NO_RIGHT)
