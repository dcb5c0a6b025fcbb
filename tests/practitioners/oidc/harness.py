"""Drive the test Pro Santé Connect provider (server.js): start it, feed it accounts, sign in.

The provider is a real Node.js process (npm package ``oidc-provider``) on 127.0.0.1; the
portal talks to it over HTTP exactly as it would to Pro Santé Connect. Tests play the browser:
the Django test client on the portal's side, a ``requests`` session on the provider's side.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

OIDC_DIR = Path(__file__).resolve().parent
REALM_PATH = "/auth/realms/esante-wallet"
CLIENT_ID = "portail-imagerie-test"
CLIENT_SECRET = "secret-de-test-uniquement"
STARTUP_TIMEOUT_S = 30
_INTERACTION = re.compile(r"/interaction/[^/]+$")


def install_node_packages() -> None:
    """``npm ci`` once (node_modules missing), under a lock: parallel test workers may race."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the Pro Santé Connect tests (Node 20)")
    with (Path(tempfile.gettempdir()) / "portal-psc-npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=OIDC_DIR,
                check=True,
                timeout=300,
            )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class IdentityProvider:
    """A running test provider and what the portal's settings need to reach it."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def issuer(self) -> str:
        return self.base_url + REALM_PATH

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/wallet-openid-configuration"

    def socialaccount_providers(self, **app_settings: Any) -> dict[str, Any]:
        """``SOCIALACCOUNT_PROVIDERS`` pointing at this provider, as the settings fragment does."""
        client_id = app_settings.pop("client_id", CLIENT_ID)
        return {
            "pro_sante_connect": {
                "APPS": [
                    {
                        "name": "Pro Santé Connect",
                        "client_id": client_id,
                        "secret": CLIENT_SECRET,
                        "settings": {"server_url": self.discovery_url, **app_settings},
                    }
                ],
                "SCOPE": ["openid", "scope_all"],
                "AUTH_PARAMS": {"acr_values": "eidas1"},
                "OAUTH_PKCE_ENABLED": True,
            }
        }

    def add_accounts(self, *accounts: dict[str, Any]) -> None:
        """Register userinfo claim sets (each with its own ``sub``) as provider accounts."""
        response = requests.post(
            self.base_url + "/__test__/accounts", data=json.dumps(list(accounts)), timeout=5
        )
        response.raise_for_status()

    def last_authorization(self) -> dict[str, str]:
        """The parameters of the last authorization request the provider received."""
        response = requests.get(self.base_url + "/__test__/last-authorization", timeout=5)
        response.raise_for_status()
        params: dict[str, str] = response.json()["params"]
        return params

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def sign_in(self, authorize_url: str, *, account: str = "", abort: str = "") -> str:
        """Play the browser at the provider from ``authorize_url`` until it sends it back.

        On the login page, signs ``account`` (a ``sub``) in, or cancels with the error code
        ``abort``. Returns the URL the provider redirects to (the portal's callback).
        """
        with requests.Session() as browser:
            url = authorize_url
            response = browser.get(url, allow_redirects=False, timeout=10)
            for _ in range(10):
                if response.status_code == 200 and _INTERACTION.search(urlsplit(url).path):
                    # The login page: choose the account, or cancel.
                    action = f"{url}/abort" if abort else f"{url}/login"
                    form = {"error": abort} if abort else {"account": account}
                    response = browser.post(action, data=form, allow_redirects=False, timeout=10)
                    continue
                if response.status_code not in (302, 303):
                    raise AssertionError(
                        f"provider answered {response.status_code} at {url}: {response.text[:500]}"
                    )
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(self.base_url):
                    return url
                response = browser.get(url, allow_redirects=False, timeout=10)
        raise AssertionError("the provider never sent the browser back")


def start_provider(*, redirect_uris: list[str], log_path: Path) -> IdentityProvider:
    """Start server.js on a free port and wait until it serves its discovery document."""
    install_node_packages()
    port = free_port()
    command = ["node", "server.js", "--port", str(port), "--client-id", CLIENT_ID]
    command += ["--client-secret", CLIENT_SECRET]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=OIDC_DIR, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    provider = IdentityProvider(
        base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(provider.discovery_url, timeout=2).status_code == 200:
                return provider
        if process.poll() is not None or time.monotonic() > deadline:
            stop_provider(provider)
            raise RuntimeError(f"the test OpenID Connect provider did not start:\n{provider.log()}")
        time.sleep(0.1)


def stop_provider(provider: IdentityProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait(timeout=10)


@contextlib.contextmanager
def running_provider(*, redirect_uris: list[str], log_path: Path) -> Iterator[IdentityProvider]:
    provider = start_provider(redirect_uris=redirect_uris, log_path=log_path)
    try:
        yield provider
    finally:
        stop_provider(provider)
