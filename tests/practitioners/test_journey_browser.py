"""In a real Chromium: a practitioner requests accreditation, the referent approves it, and the
practitioner sees the approval."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

from tests.browser_support import screenshot
from tests.factories import PASSWORD, MembershipFactory, UserFactory, enrol_totp
from tests.practitioners.factories import PractitionerReferenceFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _sign_in(page, email: str, secret: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_selector("#id_code")
    # A code computed at the very end of its 30-second period may be checked in the next one.
    while time.time() % 30 > 26:
        time.sleep(0.5)
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    page.fill("#id_code", code)
    page.press("#id_code", "Enter")
    page.wait_for_selector("h1")


def test_request_approval_and_the_practitioner_sees_it(page, browser, live_server) -> None:
    from establishments.models import Membership
    from tests.factories import EstablishmentFactory

    hospital = EstablishmentFactory(name="CHR Metz-Thionville")
    referent = UserFactory(email="julie.weber@chr.test", first_name="Julie", last_name="Weber")
    referent_secret = enrol_totp(referent)
    MembershipFactory(user=referent, establishment=hospital, role=Membership.Role.REFERENT)
    applicant = UserFactory(email="emma.roux@cabinet.test", first_name="Emma", last_name="Roux")
    applicant_secret = enrol_totp(applicant)
    reference = PractitionerReferenceFactory(last_name="ROUX", first_name="EMMA")

    # The practitioner asks, from the home page.
    _sign_in(page, applicant.email, applicant_secret)
    page.get_by_role("link", name="Demander mon habilitation").click()
    page.wait_for_selector("#id_identifier")
    page.fill("#id_identifier", reference.rpps)
    page.select_option("#id_profession_code", "10")
    page.select_option("#id_specialty_code", "SM44")
    page.get_by_label("CHR Metz-Thionville").check()
    page.fill("#id_purpose", "Interpréter les examens antérieurs de mes patients.")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_selector("#request-status")
    assert page.inner_text("#request-status") == "En attente d'examen"
    screenshot(page, "accreditation-request-submitted")

    # The referent approves.
    referent_context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    referent_page = referent_context.new_page()
    try:
        _sign_in(referent_page, referent.email, referent_secret)
        referent_page.get_by_role("link", name="Demandes d'habilitation").first.click()
        referent_page.get_by_role("link", name="Emma Roux").click()
        referent_page.get_by_role("button", name="Approuver").click()
        referent_page.wait_for_selector("#request-status")
        assert referent_page.inner_text("#request-status") == "Approuvée"
        screenshot(referent_page, "accreditation-request-approved-by-referent")
    finally:
        referent_context.close()

    # The practitioner sees the approval.
    page.goto("/")
    assert page.get_by_role("heading", name="Mon habilitation").is_visible()
    page.get_by_role("link", name="Mon habilitation").first.click()
    page.wait_for_selector("#accreditation-status")
    assert "Habilitation active du" in page.inner_text("#accreditation-status")
    assert "CHR Metz-Thionville" in page.content()
    path = screenshot(page, "accreditation-practitioner-sees-approval")
    assert path.stat().st_size > 10_000
