"""The ``pro_sante_connect`` provider: allauth's OpenID Connect provider, for Pro Santé Connect.

Differences from the generic ``openid_connect`` provider, each one a fact of DOMAIN.md:
- its own id, so its URLs are ``/accounts/pro_sante_connect/login/`` and ``…/login/callback/``
  (the callback is the redirect URI to register with the national service);
- the discovery document is read at the URL given in the app's ``server_url`` setting; given a
  bare issuer, the wallet path ``/.well-known/wallet-openid-configuration`` is appended (not the
  standard one, which Pro Santé Connect does not serve); given nothing, production is used;
- scopes ``openid scope_all`` and ``acr_values=eidas1`` by default; the authentication level
  cannot be lowered from the login URL (allauth lets ``?auth_params=`` add parameters);
- PKCE is on by default;
- the social account is keyed on the userinfo claim ``SubjectNameID`` (the IDNPS), never on
  ``sub``; a userinfo without it is refused.
"""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.openid_connect.provider import (
    OpenIDConnectProvider,
    OpenIDConnectProviderAccount,
)
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from practitioners.psc.constants import (
    ACR_EIDAS1,
    IDNPS_CLAIM,
    PRODUCTION_DISCOVERY_URL,
    PROVIDER_ID,
    PROVIDER_NAME,
    SCOPES,
    WALLET_DISCOVERY_PATH,
)
from practitioners.psc.views import ProSanteConnectOAuth2Adapter


class ProSanteConnectAccount(OpenIDConnectProviderAccount):
    def to_str(self) -> str:
        data = self.get_user_data() or {}
        name = " ".join(str(data.get(key) or "") for key in ("given_name", "family_name")).strip()
        uid = str(self.account.uid)
        return f"{name} ({uid})" if name else uid


class ProSanteConnectProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = PROVIDER_NAME
    account_class = ProSanteConnectAccount
    oauth2_adapter_class = ProSanteConnectOAuth2Adapter
    pkce_enabled_default = True
    # Logging in by posting an ID token (allauth's headless API) would skip the userinfo, which
    # alone carries the IDNPS.
    supports_token_authentication = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The generic provider takes its name from the app, which may leave it blank.
        self.name = self.app.name or PROVIDER_NAME

    @property
    def server_url(self) -> str:
        return self.wk_server_url(self.app.settings.get("server_url") or PRODUCTION_DISCOVERY_URL)

    def wk_server_url(self, url: str) -> str:
        if "/.well-known/" not in url:
            url = url.rstrip("/") + WALLET_DISCOVERY_PATH
        return url

    def get_login_url(self, request: HttpRequest, **kwargs: Any) -> str:
        url = reverse(f"{self.id}_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self) -> str:
        return reverse(f"{self.id}_callback")

    def get_oauth2_adapter(self, request: HttpRequest) -> ProSanteConnectOAuth2Adapter:
        return ProSanteConnectOAuth2Adapter(request)

    def get_default_scope(self) -> list[str]:
        return list(SCOPES)

    def get_auth_params(self) -> dict[str, Any]:
        return {**super().get_auth_params(), "acr_values": ACR_EIDAS1}

    def get_auth_params_from_request(self, request: HttpRequest, action: Any) -> dict[str, Any]:
        return {**super().get_auth_params_from_request(request, action), "acr_values": ACR_EIDAS1}

    def extract_uid(self, data: dict[str, Any]) -> str:
        userinfo = data.get("userinfo") or {}
        idnps = str(userinfo.get(IDNPS_CLAIM) or "").strip()
        if not idnps:
            raise ProviderException(f"the userinfo has no {IDNPS_CLAIM}")
        return idnps


provider_classes = [ProSanteConnectProvider]
