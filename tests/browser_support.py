"""A real headless Chromium (Debian's), driven by Playwright, for browser journeys.

The ``browser`` and ``page`` fixtures are registered in tests/conftest.py: one Chromium (one
Playwright event loop) per test process, shared by every browser test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    # The sync API runs an event loop in this thread; the test's ORM calls are still safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    home = tmp_path_factory.mktemp("chromium-home")
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, live_server: object) -> Iterator[object]:
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


_last_code: dict[str, str] = {}


def totp_code(secret: str) -> str:
    """A code the portal accepts now: allauth refuses a code twice, so wait for a new one."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    while True:
        now = time.time()
        if 30 - now % 30 < 3:  # about to turn: the page may get it after the step changed
            time.sleep(30 - now % 30 + 0.2)
            continue
        code = format_hotp_value(hotp_value(secret, int(now // 30)))
        if _last_code.get(secret) != code:
            _last_code[secret] = code
            return code
        time.sleep(1)


def sign_in(page: object, *, email: str, password: str, totp_secret: str | None) -> None:
    """Sign in through the real pages: password, then the authenticator code if enrolled."""
    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    page.fill("#id_login", email)  # type: ignore[attr-defined]
    page.fill("#id_password", password)  # type: ignore[attr-defined]
    page.press("#id_password", "Enter")  # type: ignore[attr-defined]
    if totp_secret:
        page.wait_for_selector("#id_code")  # type: ignore[attr-defined]
        page.fill("#id_code", totp_code(totp_secret))  # type: ignore[attr-defined]
        page.press("#id_code", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("h1:has-text('Bonjour')")  # type: ignore[attr-defined]


def confirm_identity_if_asked(page: object, *, password: str, totp_secret: str | None) -> None:
    """Answer allauth's re-authentication page if the portal asks for it before signing."""
    page.wait_for_load_state()  # type: ignore[attr-defined]
    if "/reauthenticate" not in page.url:  # type: ignore[attr-defined]
        return
    if page.locator("#id_password").count():  # type: ignore[attr-defined]
        page.fill("#id_password", password)  # type: ignore[attr-defined]
        page.press("#id_password", "Enter")  # type: ignore[attr-defined]
    elif totp_secret and page.locator("#id_code").count():  # type: ignore[attr-defined]
        page.fill("#id_code", totp_code(totp_secret))  # type: ignore[attr-defined]
        page.press("#id_code", "Enter")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
