"""Signing in with Pro Santé Connect, end to end against a real OpenID Connect provider process.

The provider is tests/practitioners/oidc/server.js (npm ``oidc-provider``), started once per
test session on 127.0.0.1. The Django test client plays the browser on the portal's side and a
``requests`` session on the provider's; the portal exchanges the code and reads the userinfo
over real HTTP. Assertions stop at the portal's answer to the callback: what the portal's MFA
middleware does next is not this login's business.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from establishments.models import Establishment
from portal.models import User
from practitioners.psc_prefill import PSC_PREFILL_SESSION_KEY
from tests.factories import EstablishmentFactory, UserFactory, enrol_totp, with_luhn
from tests.practitioners.oidc.harness import CLIENT_ID, IdentityProvider, running_provider

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("pro_sante_connect")]

HOST = "127.0.0.1"
IDNPS = "810999999013"
RPPS = "10999999013"
SITE_FINESS = with_luhn("57099901")
LEGAL_FINESS = with_luhn("57099902")


@pytest.fixture(scope="session")
def psc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    callback = f"http://{HOST}{reverse('pro_sante_connect_callback')}"
    log_path = tmp_path_factory.mktemp("psc") / "provider.log"
    with running_provider(redirect_uris=[callback], log_path=log_path) as provider:
        yield provider


@pytest.fixture
def psc(psc_server: IdentityProvider, settings: Any) -> IdentityProvider:
    """The portal configured for the test provider, as the settings fragment does in production."""
    settings.SOCIALACCOUNT_PROVIDERS = psc_server.socialaccount_providers()
    return psc_server


@pytest.fixture
def browser() -> Client:
    # Everything on 127.0.0.1: the redirect URI the portal builds is the one the provider knows.
    return Client(HTTP_HOST=HOST)


def psc_account(*, idnps: str = IDNPS, **claims: Any) -> dict[str, Any]:
    """Userinfo claims shaped like Pro Santé Connect's (real nesting: activities in exercices)."""
    exercice = {
        "codeProfession": "10",
        "codeCategorieProfessionnelle": "C",
        "nomDexercice": "RADIOTEST",
        "prenomDexercice": "CLAIRE",
        "codeTypeSavoirFaire": "S",
        "codeSavoirFaire": "SM44",
        "activities": [
            {
                "codeModeExercice": "S",
                "numeroFinessSite": SITE_FINESS + " ",
                "numeroFinessetablissementJuridique": LEGAL_FINESS,
                "raisonSocialeSite": "CHR METZ-THIONVILLE - HOPITAL DE MERCY",
                "codePostal": "57085",
            },
            {
                "codeModeExercice": "L",
                "numeroFinessSite": "",
                "numeroFinessetablissementJuridique": "",
                "raisonSocialeSite": "CABINET DE RADIOLOGIE DE TEST",
                "codePostal": "57000",
            },
        ],
    }
    return {
        # A Keycloak-style technical id, different at each call.
        "sub": f"f:{uuid.uuid4()}:{idnps}",
        "SubjectNameID": idnps,
        "preferred_username": idnps,
        "given_name": "CLAIRE",
        "family_name": "RADIOTEST",
        "email_verified": False,
        "SubjectRefPro": {"codeCivilite": "MME", "exercices": [exercice]},
        **claims,
    }


def start_login(browser: Client, **params: str) -> str:
    """Press "Se connecter avec Pro Santé Connect": returns the provider's authorize URL."""
    url = reverse("pro_sante_connect_login")
    response = browser.post(f"{url}?{urlencode(params)}" if params else url)
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"])


def query_param(url: str, name: str) -> str:
    (value,) = parse_qs(urlsplit(url).query)[name]
    return value


def back_at_portal(browser: Client, callback_url: str) -> Any:
    """Follow the provider's redirect to the portal's callback."""
    parts = urlsplit(callback_url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        HOST,
        reverse("pro_sante_connect_callback"),
    )
    return browser.get(f"{parts.path}?{parts.query}")


def sign_in(psc: IdentityProvider, browser: Client, account: dict[str, Any]) -> Any:
    """The whole round trip for ``account``: returns the portal's answer to the callback."""
    psc.add_accounts(account)
    callback_url = psc.sign_in(start_login(browser), account=account["sub"])
    return back_at_portal(browser, callback_url)


def assert_login_failure_page(response: Any) -> None:
    assert "socialaccount/authentication_error.html" in [t.name for t in response.templates]


def signed_in_user(browser: Client) -> User | None:
    user_id = browser.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def linked_practitioner(*, idnps: str = IDNPS, email: str = "dr.claire@chr.test") -> User:
    """A portal account already linked to the Pro Santé Connect identity ``idnps``."""
    user = UserFactory(email=email, first_name="Claire", last_name="Radiotest")
    SocialAccount.objects.create(
        user=user, provider="pro_sante_connect", uid=idnps, extra_data={"userinfo": {}}
    )
    return user


def test_it_signs_a_new_practitioner_in_end_to_end(
    psc: IdentityProvider, browser: Client, mailoutbox: list[Any]
) -> None:
    site = EstablishmentFactory(
        finess_eg=SITE_FINESS, finess_ej=LEGAL_FINESS, status=Establishment.Status.MEMBER
    )
    account = psc_account()
    psc.add_accounts(account)
    authorize_url = start_login(browser)
    callback_url = psc.sign_in(authorize_url, account=account["sub"])
    authorization = psc.last_authorization()
    assert authorization["state"] == query_param(authorize_url, "state")
    assert sorted(authorization["scope"].split(" ")) == ["openid", "scope_all"]
    assert authorization["acr_values"] == "eidas1"

    response = back_at_portal(browser, callback_url)

    # Pro Santé Connect gives no e-mail: the portal asks for one, then has it verified.
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_signup")
    assert browser.session[PSC_PREFILL_SESSION_KEY] == {
        "idnps": IDNPS,
        "identifier_type": "rpps",
        "identifier": RPPS,
        "rpps": RPPS,
        "adeli": "",
        "first_name": "CLAIRE",
        "last_name": "RADIOTEST",
        "profession_code": "10",
        "specialty_code": "SM44",
        "establishment_ids": [site.pk],
        "other_sites": [
            {
                "name": "CABINET DE RADIOLOGIE DE TEST",
                "finess_site": "",
                "finess_ej": "",
                "postal_code": "57000",
            }
        ],
    }
    response = browser.get(reverse("socialaccount_signup"))
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()
    response = browser.post(reverse("socialaccount_signup"), {"email": "dr.claire@chr.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user(browser) is None

    (message,) = mailoutbox
    match = re.search(r"/accounts/confirm-email/[^/\s]+/", message.body)
    assert match, message.body
    response = browser.post(match.group(0))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = signed_in_user(browser)
    assert user is not None
    assert (user.email, user.first_name, user.last_name) == (
        "dr.claire@chr.test",
        "CLAIRE",
        "RADIOTEST",
    )
    social = SocialAccount.objects.get(user=user)
    assert (social.provider, social.uid) == ("pro_sante_connect", IDNPS)
    assert social.extra_data["userinfo"]["sub"] == account["sub"]
    assert browser.session[PSC_PREFILL_SESSION_KEY]["establishment_ids"] == [site.pk]


def test_it_asks_for_openid_scope_all_at_the_eidas_substantial_level(
    psc: IdentityProvider, browser: Client
) -> None:
    authorize_url = start_login(browser)
    psc.sign_in(authorize_url, abort="access_denied")

    # What the provider received (this very request: the state is ours).
    params = psc.last_authorization()
    assert params["state"] == query_param(authorize_url, "state")
    # allauth sends the scopes in no particular order, which OAuth 2.0 allows (RFC 6749, 3.3).
    assert sorted(params["scope"].split(" ")) == ["openid", "scope_all"]
    assert params["acr_values"] == "eidas1"
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == f"http://{HOST}/accounts/pro_sante_connect/login/callback/"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"]


def test_it_keeps_eidas1_when_the_login_url_asks_for_another_level(
    psc: IdentityProvider, browser: Client
) -> None:
    authorize_url = start_login(browser, auth_params="acr_values=eidas0&prompt=none")
    psc.sign_in(authorize_url, abort="access_denied")

    params = psc.last_authorization()
    assert params["state"] == query_param(authorize_url, "state")
    assert params["acr_values"] == "eidas1"
    assert params["prompt"] == "none"


def test_it_finds_the_wallet_discovery_document_from_the_bare_issuer(
    psc: IdentityProvider, browser: Client, settings: Any
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = psc.socialaccount_providers(server_url=psc.issuer)
    user = linked_practitioner()

    response = sign_in(psc, browser, psc_account())

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user(browser) == user


def test_it_fails_cleanly_when_the_discovery_document_is_not_at_the_configured_url(
    psc: IdentityProvider, browser: Client, settings: Any
) -> None:
    # The standard path, which Pro Santé Connect (and the test provider) does not serve.
    standard = psc.issuer + "/.well-known/openid-configuration"
    settings.SOCIALACCOUNT_PROVIDERS = psc.socialaccount_providers(server_url=standard)

    response = browser.post(reverse("pro_sante_connect_login"))

    assert response.status_code == 401
    assert signed_in_user(browser) is None


def test_it_keys_the_account_on_subject_name_id_not_on_sub(
    psc: IdentityProvider, browser: Client
) -> None:
    user = linked_practitioner()
    first, second = psc_account(), psc_account()
    assert first["sub"] != second["sub"]

    response = sign_in(psc, browser, first)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user(browser) == user

    other_browser = Client(HTTP_HOST=HOST)
    response = sign_in(psc, other_browser, second)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user(other_browser) == user
    social = SocialAccount.objects.get(provider="pro_sante_connect")
    assert (social.user, social.uid) == (user, IDNPS)
    assert social.extra_data["userinfo"]["sub"] == second["sub"]


def test_it_does_not_sign_another_practitioner_into_a_linked_account(
    psc: IdentityProvider, browser: Client
) -> None:
    linked_practitioner()

    response = sign_in(psc, browser, psc_account(idnps="810999999021"))

    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_signup")
    assert signed_in_user(browser) is None
    assert SocialAccount.objects.filter(uid="810999999021").count() == 0


def test_it_refuses_a_callback_whose_state_does_not_match(
    psc: IdentityProvider, browser: Client
) -> None:
    linked_practitioner()
    account = psc_account()
    psc.add_accounts(account)
    callback_url = psc.sign_in(start_login(browser), account=account["sub"])
    forged = re.sub(r"state=[^&]+", "state=forged-state", callback_url)
    assert forged != callback_url

    response = back_at_portal(browser, forged)

    assert response.status_code == 401
    assert_login_failure_page(response)
    assert signed_in_user(browser) is None
    assert PSC_PREFILL_SESSION_KEY not in browser.session


def test_it_refuses_a_callback_replayed_in_another_browser(
    psc: IdentityProvider, browser: Client
) -> None:
    linked_practitioner()
    account = psc_account()
    psc.add_accounts(account)
    callback_url = psc.sign_in(start_login(browser), account=account["sub"])
    attacker = Client(HTTP_HOST=HOST)

    response = back_at_portal(attacker, callback_url)

    assert response.status_code == 401
    assert signed_in_user(attacker) is None


def test_it_shows_the_cancellation_when_the_practitioner_cancels_at_the_provider(
    psc: IdentityProvider, browser: Client
) -> None:
    callback_url = psc.sign_in(start_login(browser), abort="access_denied")
    assert "error=access_denied" in callback_url

    response = back_at_portal(browser, callback_url)

    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_login_cancelled")
    assert signed_in_user(browser) is None


def test_it_refuses_cleanly_when_the_provider_returns_an_error(
    psc: IdentityProvider, browser: Client
) -> None:
    callback_url = psc.sign_in(start_login(browser), abort="temporarily_unavailable")
    assert "error=temporarily_unavailable" in callback_url

    response = back_at_portal(browser, callback_url)

    assert response.status_code == 401
    assert signed_in_user(browser) is None
    assert SocialAccount.objects.count() == 0


def test_it_refuses_a_login_at_a_lower_authentication_level(
    psc: IdentityProvider, browser: Client
) -> None:
    linked_practitioner()

    response = sign_in(psc, browser, psc_account(_acr="urn:test:faible"))

    assert response.status_code == 401
    assert signed_in_user(browser) is None
    assert PSC_PREFILL_SESSION_KEY not in browser.session


def test_it_accepts_an_id_token_that_states_no_authentication_level(
    psc: IdentityProvider, browser: Client
) -> None:
    # Nothing says Pro Santé Connect always states it: only a different level is refused.
    user = linked_practitioner()

    response = sign_in(psc, browser, psc_account(_acr=""))

    assert response.status_code == 302
    assert signed_in_user(browser) == user
    assert "acr" not in SocialAccount.objects.get(user=user).extra_data["id_token"]


def test_it_refuses_a_userinfo_without_subject_name_id(
    psc: IdentityProvider, browser: Client
) -> None:
    account = psc_account()
    del account["SubjectNameID"]

    response = sign_in(psc, browser, account)

    assert response.status_code == 401
    assert signed_in_user(browser) is None
    assert SocialAccount.objects.count() == 0


def test_it_reads_a_userinfo_signed_as_a_jwt(
    psc: IdentityProvider, browser: Client, settings: Any
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = psc.socialaccount_providers(client_id=f"{CLIENT_ID}-jwt")
    user = linked_practitioner()

    response = sign_in(psc, browser, psc_account())

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user(browser) == user
    assert browser.session[PSC_PREFILL_SESSION_KEY]["rpps"] == RPPS


def test_it_asks_the_portal_second_factor_of_a_practitioner_who_enrolled_one(
    psc: IdentityProvider, browser: Client
) -> None:
    # Today a Pro Santé Connect login does not stand in for the portal's second factor.
    user = linked_practitioner()
    enrol_totp(user)

    response = sign_in(psc, browser, psc_account())

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(browser) is None


def test_it_shows_the_login_button_when_a_client_id_is_configured(
    psc: IdentityProvider, browser: Client
) -> None:
    response = browser.get(reverse("account_login"))

    content = response.content.decode()
    assert "Se connecter avec Pro Santé Connect" in content
    assert f'action="{reverse("pro_sante_connect_login")}?process=login"' in content


def test_it_shows_no_login_button_without_a_client_id(browser: Client, settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {}

    response = browser.get(reverse("account_login"))

    assert response.status_code == 200
    assert "Pro Santé Connect" not in response.content.decode()
    assert browser.post(reverse("pro_sante_connect_login")).status_code == 404


def test_it_verifies_the_email_address_before_signing_a_new_practitioner_in(
    psc: IdentityProvider, browser: Client, mailoutbox: list[Any]
) -> None:
    sign_in(psc, browser, psc_account())

    browser.post(reverse("socialaccount_signup"), {"email": "dr.claire@chr.test"})

    assert signed_in_user(browser) is None
    assert not EmailAddress.objects.get(email="dr.claire@chr.test").verified
    assert len(mailoutbox) == 1


def test_it_refuses_a_userinfo_about_another_subject_than_the_id_token(
    psc: IdentityProvider, browser: Client
) -> None:
    linked_practitioner()

    response = sign_in(psc, browser, psc_account(_userinfo_sub="f:quelqu-un-d-autre"))

    assert response.status_code == 401
    assert_login_failure_page(response)
    assert signed_in_user(browser) is None
