"""The regional administrator signs in, with a second factor, in a real browser."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

from portal.roles import Role
from portal.services import user_grant_group_role
from tests.browser_support import screenshot
from tests.factories import PASSWORD, UserFactory, enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_regional_admin_signs_in_and_sees_the_home_page(page) -> None:
    admin = UserFactory(email="claire.martin@ars.test", first_name="Claire", last_name="Martin")
    user_grant_group_role(user=admin, role=Role.REGIONAL_ADMIN)
    secret = enrol_totp(admin)

    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu principal"
    page.get_by_role("link", name="Se connecter").first.click()

    page.fill("#id_login", admin.email)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")

    page.wait_for_selector("#id_code")
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    page.fill("#id_code", code)
    page.press("#id_code", "Enter")

    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Bonjour Claire"
    assert page.get_by_role("heading", name="Le réseau régional").is_visible()
    assert page.get_by_role("main").is_visible()
    path = screenshot(page, "regional-admin-home")
    assert path.stat().st_size > 10_000


def test_a_wrong_password_keeps_the_visitor_out(page) -> None:
    UserFactory(email="quelquun@ars.test")
    page.goto("/accounts/login/")
    page.fill("#id_login", "quelquun@ars.test")
    page.fill("#id_password", "pas-le-bon-mot-de-passe")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()
    assert "sont incorrects" in page.content()
    assert page.url.endswith("/accounts/login/")
