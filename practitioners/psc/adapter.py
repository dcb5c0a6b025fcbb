"""The portal's allauth social-account adapter (``SOCIALACCOUNT_ADAPTER``).

After a successful Pro Santé Connect login, and before allauth signs the user in or asks them
to sign up, the practitioner's professional data is turned into the accreditation request
pre-fill and kept in the session (``practitioners.psc_prefill``). ``pre_social_login`` is the
hook for it: it runs on every social login, for new and known accounts alike (``populate_user``
and ``save_user`` only run when an account is created), once the provider has vouched for the
identity and before any page is shown.
"""

from __future__ import annotations

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest

from practitioners.psc.constants import PROVIDER_ID
from practitioners.psc_prefill import psc_prefill_store


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        super().pre_social_login(request, sociallogin)
        if sociallogin.account.provider == PROVIDER_ID:
            userinfo = sociallogin.account.extra_data.get("userinfo") or {}
            psc_prefill_store(request=request, userinfo=userinfo)
