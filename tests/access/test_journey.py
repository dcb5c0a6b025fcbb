"""In a real Chromium: the city GP sees the patient shared with them and their imaging at two
establishments, is refused another patient found by the search, opens an emergency access to
that patient (a justification, then their authenticator code again), and the auditor finds it
in the review queue and judges it justified. The trail and the review are then read back."""

from __future__ import annotations

import datetime

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt

from access.models import BreakGlassAccess
from audit.models import AccessEvent, Action, Channel, Rule
from establishments.models import Establishment
from portal.models import User
from tests.access.conftest import Record, grant_to
from tests.browser_support import screenshot, sign_in, totp_code
from tests.factories import PASSWORD
from tests.imaging.factories import (
    ImagingStudyFactory,
    PatientIdentifierFactory,
    PatientRecordFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JUSTIFICATION = (
    "Patient admis inconscient aux urgences après une chute, suspicion d'hématome sous-dural : "
    "il me faut ses scanners cérébraux antérieurs."
)
COMMENT = "Admission aux urgences confirmée par le service ; consultation limitée au crâne."


def _totp_secret(user: User) -> str:
    """The secret of the authenticator app the cast enrolled for ``user``."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return str(decrypt(authenticator.data["secret"]))


def test_the_gp_is_refused_opens_an_emergency_access_and_the_auditor_reviews_it(
    browser, page, live_server, gp, radiologist, auditor, record: Record, hospital: Establishment
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    stranger = PatientRecordFactory(
        patient_name="MARTIN^Paul", patient_birth_date=datetime.date(1958, 11, 3)
    )
    stranger_study = ImagingStudyFactory(
        patient_identifier=PatientIdentifierFactory(
            establishment=hospital, patient_record=stranger
        ),
        study_date=datetime.date(2026, 5, 20),
        study_description="SCANNER CEREBRAL",
    )
    gp_secret = _totp_secret(gp)

    # 1. The GP signs in with their authenticator and finds the patient shared with them.
    sign_in(page, email=gp.email, password=PASSWORD, totp_secret=gp_secret)
    page.get_by_role("link", name="Voir mes patients").click()
    page.wait_for_selector("h1:has-text('Mes patients')")
    patients = page.get_by_role("table")
    assert patients.get_by_role("link", name="Hélène DURAND").is_visible()
    assert "MARTIN" not in patients.inner_text().upper()
    patients.get_by_role("link", name="Hélène DURAND").click()

    # Her imaging at both establishments, newest first, seen through the grant.
    page.wait_for_selector("h1:has-text('Hélène DURAND')")
    studies = page.locator("section[aria-labelledby=timeline-title] tbody tr")
    assert studies.count() == 2
    assert "Institut de Cancérologie de Lorraine" in studies.nth(0).inner_text()
    assert "CHR Metz-Thionville" in studies.nth(1).inner_text()
    assert "Autorisation jusqu'au" in studies.nth(0).inner_text()
    assert page.locator("#emergency-access").count() == 0
    assert page.locator("#hidden-studies").count() == 0
    screenshot(page, "access-journey-gp-granted-patient")

    # 2. The GP searches another patient by name and birth date: refused, and not described.
    page.get_by_role("link", name="← Mes patients").click()
    page.get_by_role("link", name="Rechercher un patient").click()
    page.wait_for_selector("h1:has-text('Rechercher un patient')")
    page.fill("#id_last_name", "Martin")
    page.fill("#id_birth_date", "1958-11-03")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_selector("#results-title")
    results = page.locator("section[aria-labelledby=results-title]")
    refusal = results.inner_text()
    assert "vous n'avez aucun droit d'accès à son dossier" in refusal
    for secret in ("MARTIN", "PAUL", "03/11/1958", "SCANNER", "CHR METZ"):
        assert secret not in refusal.upper()
    assert results.get_by_role("table").count() == 0
    assert "Paul" not in page.content()
    screenshot(page, "access-journey-gp-search-refused")

    # 3. Emergency access: the category, a justification, then the authenticator code again.
    results.get_by_role("link", name="Ouvrir un accès d'urgence").click()
    page.wait_for_selector("h1:has-text('Ouvrir un accès d\\'urgence')")
    assert "Paul" not in page.content()
    page.get_by_label("Patient hors d'état d'exprimer sa volonté").check()
    page.get_by_label("Justification").fill(JUSTIFICATION)
    page.get_by_role("button", name="Ouvrir l'accès d'urgence").click()
    page.wait_for_url("**/reauthenticate/**")
    assert not BreakGlassAccess.objects.exists()  # nothing opens before the identity check
    page.get_by_role("link", name="Utilisez une application d'authentification ou un code").click()
    page.wait_for_selector("#id_code")
    page.fill("#id_code", totp_code(gp_secret))
    page.press("#id_code", "Enter")

    # The patient's page, every study flagged as seen under the emergency access.
    page.wait_for_selector("h1:has-text('Paul MARTIN')")
    assert page.url.endswith(f"/patients/{stranger.pk}/")
    assert "Accès d'urgence ouvert jusqu'à" in page.inner_text(".messages")
    assert "Accès d'urgence jusqu'à" in page.inner_text("#emergency-access")
    rows = page.locator("section[aria-labelledby=timeline-title] tbody tr")
    assert rows.count() == 1
    assert "CHR Metz-Thionville" in rows.nth(0).inner_text()
    assert rows.nth(0).locator("strong.flag", has_text="Accès d'urgence jusqu'à").is_visible()
    screenshot(page, "access-journey-gp-emergency-patient")

    # 4. The auditor finds it in the review queue, reads it and judges it justified.
    auditor_context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    audit_page = auditor_context.new_page()
    try:
        sign_in(
            audit_page, email=auditor.email, password=PASSWORD, totp_secret=_totp_secret(auditor)
        )
        assert audit_page.inner_text("#break-glass-pending") == "1"
        audit_page.get_by_role("link", name="Examiner les accès d'urgence").click()
        audit_page.wait_for_selector("h1:has-text('Accès d\\'urgence (bris de glace)')")
        queue = audit_page.locator("table tbody tr")
        assert queue.count() == 1
        entry = queue.nth(0).inner_text()
        assert "Dan Dehors" in entry
        assert "Patient hors d'état d'exprimer sa volonté" in entry
        assert "Patient admis inconscient aux urgences" in entry
        assert "À examiner" in entry
        screenshot(audit_page, "access-journey-auditor-review-queue")

        queue.nth(0).get_by_role("link").click()
        audit_page.wait_for_selector("h1:has-text('Examen d\\'un accès d\\'urgence')")
        assert audit_page.inner_text("#justification") == JUSTIFICATION
        assert "Paul MARTIN" in audit_page.inner_text("section[aria-labelledby=access-title]")
        consultations = audit_page.locator("section[aria-labelledby=events-title] tbody tr")
        assert consultations.count() >= 2  # the patient, then their study
        audit_page.get_by_label("Justifié", exact=True).check()
        audit_page.get_by_label("Commentaire").fill(COMMENT)
        audit_page.get_by_role("button", name="Enregistrer l'examen").click()
        audit_page.wait_for_selector("#verdict")
        assert "Examen enregistré : accès jugé « justifié »." in audit_page.inner_text(".messages")
        assert audit_page.inner_text("#review-state") == "Justifié"
        verdict = audit_page.inner_text("#verdict")
        assert "Justifié" in verdict
        assert "Olivier Audit" in verdict
        assert COMMENT in verdict
        screenshot(audit_page, "access-journey-auditor-verdict")
    finally:
        auditor_context.close()

    # 5. The trail and the review, as stored.
    search = AccessEvent.objects.get(actor_id=gp.pk, action=Action.SEARCH)
    assert (search.patient_id, search.granted, search.rule, search.channel) == (
        stranger.pk,
        False,
        Rule.NO_RIGHT,
        Channel.WEB,
    )
    access = BreakGlassAccess.objects.get()
    assert (access.user, access.patient, access.category, access.justification) == (
        gp,
        stranger,
        BreakGlassAccess.Category.UNCONSCIOUS,
        JUSTIFICATION,
    )
    assert access.source_ip == "127.0.0.1"
    assert access.expires_at - access.opened_at == datetime.timedelta(hours=4)
    flagged = AccessEvent.objects.filter(actor_id=gp.pk, break_glass_id=access.pk)
    assert {(event.study_id, event.action, event.granted, event.rule) for event in flagged} == {
        (None, Action.READ, True, Rule.BREAK_GLASS),
        (stranger_study.pk, Action.READ, True, Rule.BREAK_GLASS),
    }
    assert not AccessEvent.objects.filter(
        actor_id=gp.pk, patient_id=stranger.pk, granted=True, break_glass_id__isnull=True
    ).exists()
    shared = AccessEvent.objects.filter(
        actor_id=gp.pk, patient_id=record.patient.pk, action=Action.READ
    )
    assert {(event.study_id, event.granted, event.rule) for event in shared} == {
        (None, True, Rule.GRANT),
        (record.hospital_study.pk, True, Rule.GRANT),
        (record.clinic_study.pk, True, Rule.GRANT),
    }
    assert (access.review, access.reviewed_by, access.review_comment) == (
        BreakGlassAccess.Review.JUSTIFIED,
        auditor,
        COMMENT,
    )
    assert access.reviewed_at is not None
