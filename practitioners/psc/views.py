"""The OAuth2 adapter of Pro Santé Connect and its two views (start the login, receive the code).

allauth's generic OpenID Connect adapter does the protocol (discovery, PKCE, code exchange, ID
token checks of issuer, audience and expiry); this one adds what Pro Santé Connect needs:
- an ID token that states another authentication level than the one asked for (``acr`` other
  than ``eidas1``) is refused; one without ``acr`` is accepted, since nothing in hand says that
  Pro Santé Connect always sends it (the code must not be stricter than the facts);
- the userinfo is always fetched (``SubjectNameID`` and the professional data are only there),
  its ``sub`` must be the ID token's (OpenID Connect Core 5.3.2), and it may come back as a
  signed JWT (``application/jwt``), whose signature is then checked against the provider's keys.
Every refusal raises ``ProviderException``: allauth then shows its "login failure" page (401).
The same page, not a server error, answers when Pro Santé Connect cannot be reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from requests import RequestException

from practitioners.psc.constants import ACR_EIDAS1, PROVIDER_ID

logger = logging.getLogger(__name__)


class ProSanteConnectOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request, PROVIDER_ID)

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        callback_url = reverse(f"{PROVIDER_ID}_callback")
        return str(build_absolute_uri(request, callback_url, self.redirect_uri_protocol))

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        id_token_str = kwargs["response"].get("id_token")
        if not id_token_str:
            raise ProviderException("Pro Santé Connect returned no ID token")
        id_token = self._decode_id_token(app, id_token_str)
        acr = id_token.get("acr")
        if acr is not None and acr != ACR_EIDAS1:
            raise ProviderException(f"authentication level {acr!r} instead of {ACR_EIDAS1!r}")
        userinfo = self._fetch_psc_userinfo(app, token.token)
        if userinfo.get("sub") != id_token.get("sub"):
            raise ProviderException("the userinfo and the ID token name different subjects")
        data = {"userinfo": userinfo, "id_token": id_token}
        return self.get_provider().sociallogin_from_response(request, data)

    def _fetch_psc_userinfo(self, app: SocialApp, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        with get_adapter().get_requests_session() as session:
            response = session.get(self.profile_url, headers=headers)
            response.raise_for_status()
        content_type = response.headers.get("Content-Type", "").partition(";")[0].strip()
        if content_type == "application/jwt":
            data = jwtkit.verify_and_decode(
                credential=response.text.strip(),
                keys_url=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                audience=app.client_id,
                lookup_kid=jwtkit.lookup_kid_jwk,
            )
        else:
            data = response.json()
        if not isinstance(data, dict):
            raise ProviderException("the userinfo is not a JSON object")
        return data


def _run(view: Callable[[HttpRequest], HttpResponse], request: HttpRequest) -> HttpResponse:
    try:
        return view(request)
    except SocialApp.DoesNotExist:
        # Not configured (no PSC_CLIENT_ID): the login does not exist here.
        raise Http404 from None
    except (OAuth2Error, RequestException) as exc:
        # Discovery document or endpoint unreachable, outside allauth's own error handling.
        logger.warning("Pro Santé Connect unreachable: %s", exc)
        provider = get_adapter(request).get_provider(request, PROVIDER_ID)
        return render_authentication_error(request, provider, exception=exc)


@login_not_required
def oauth2_login(request: HttpRequest) -> HttpResponse:
    return _run(OAuth2LoginView.adapter_view(ProSanteConnectOAuth2Adapter), request)


@login_not_required
def oauth2_callback(request: HttpRequest) -> HttpResponse:
    return _run(OAuth2CallbackView.adapter_view(ProSanteConnectOAuth2Adapter), request)
