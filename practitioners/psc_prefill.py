"""The accreditation request pre-fill from a Pro Santé Connect login.

Pro Santé Connect's userinfo says who the practitioner is and where they practise (DOMAIN.md):
``SubjectNameID`` (the IDNPS), ``given_name``/``family_name`` and ``SubjectRefPro.exercices[]``,
each with ``codeProfession``, ``codeSavoirFaire``, ``nomDexercice``/``prenomDexercice`` and
``activities[]`` (``numeroFinessSite``, ``numeroFinessetablissementJuridique``,
``raisonSocialeSite``...). ``psc_prefill_from_userinfo`` turns it into plain initial values for
the accreditation request form; the social-account adapter stores them in the session at each
login (``psc_prefill_store``, key ``PSC_PREFILL_SESSION_KEY``), and the form reads them back with
``psc_prefill_from_session(request)``.

The pre-fill (JSON-serialisable, as the session needs; every key always present)::

    {
        "idnps": "810999999013",          # SubjectNameID as given
        "identifier_type": "rpps",        # "rpps" (IDNPS "8" + RPPS), "adeli" ("0" + ADELI), or ""
        "identifier": "10999999013",      # the RPPS or ADELI number, "" when neither
        "rpps": "10999999013",            # "" unless an RPPS
        "adeli": "",                      # "" unless an ADELI
        "first_name": "CLAIRE",           # prénom d'exercice, else given_name
        "last_name": "RADIOTEST",         # nom d'exercice, else family_name
        "profession_code": "10",          # TRE_G15, first exercice's codeProfession, or ""
        "specialty_code": "SM44",         # TRE_R38, that exercice's codeSavoirFaire, or ""
        "establishment_ids": [3, 7],      # member establishments matched by FINESS, by name
        "other_sites": [                  # activities matching no member establishment
            {"name": "CABINET …", "finess_site": "", "finess_ej": "", "postal_code": "57000"}
        ],
    }

An activity is matched on its FINESS site (``Establishment.finess_eg``); when that matches no
member establishment, on its FINESS juridique (``Establishment.finess_ej``: every member site of
that legal entity is proposed). Only establishments whose status is "member" are proposed.
Names keep Pro Santé Connect's spelling (usually in capitals); the form lets the practitioner
correct them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from allauth.socialaccount.models import SocialAccount
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest

from establishments.models import Establishment
from portal.identifiers import RppsLuhnWarning, validate_adeli, validate_rpps
from practitioners.psc.constants import IDNPS_CLAIM, PROVIDER_ID

PSC_PREFILL_SESSION_KEY = "psc_prefill"

_IDNPS_RPPS_PREFIX = "8"
_IDNPS_ADELI_PREFIX = "0"
# The real service's spelling first; the second is how other ANS documents write it.
_FINESS_EJ_CLAIMS = ("numeroFinessetablissementJuridique", "numeroFinessEtablissementJuridique")


def _text(value: Any) -> str:
    """A claim as a clean string (national extracts may pad their values with spaces)."""
    return value.strip() if isinstance(value, str) else ""


def _claim(data: Mapping[str, Any], *names: str) -> str:
    """The first non-blank of several spellings of a claim (``nomDexercice``/``nomDExercice``)."""
    for name in names:
        text = _text(data.get(name))
        if text:
            return text
    return ""


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _identifier(idnps: str) -> tuple[str, str]:
    """(identifier type, number) of an IDNPS; ("", "") when it is neither an RPPS nor an ADELI."""
    prefix, number = idnps[:1], idnps[1:]
    try:
        with warnings.catch_warnings():
            # A failed RPPS Luhn is only a warning (DOMAIN.md); the form shows it if it wants.
            warnings.simplefilter("ignore", RppsLuhnWarning)
            if prefix == _IDNPS_RPPS_PREFIX:
                return "rpps", validate_rpps(number)
            if prefix == _IDNPS_ADELI_PREFIX:
                return "adeli", validate_adeli(number)
    except ValidationError:
        pass
    return "", ""


def _activities(userinfo: Mapping[str, Any], exercices: list[Mapping[str, Any]]) -> list[Any]:
    # The real service nests activities in each exercice; accept them at the top too.
    found: list[Mapping[str, Any]] = []
    for exercice in exercices:
        found.extend(_dicts(exercice.get("activities")))
    ref_pro = userinfo.get("SubjectRefPro")
    if isinstance(ref_pro, Mapping):
        found.extend(_dicts(ref_pro.get("activities")))
    found.extend(_dicts(userinfo.get("activities")))
    return found


def _match_establishments(
    activities: Iterable[Mapping[str, Any]],
) -> tuple[list[int], list[dict[str, str]]]:
    sites = [
        (
            _text(activity.get("numeroFinessSite")),
            _claim(activity, *_FINESS_EJ_CLAIMS),
            activity,
        )
        for activity in activities
    ]
    site_numbers = {site for site, _ej, _a in sites if site}
    ej_numbers = {ej for _site, ej, _a in sites if ej}
    members = list(
        Establishment.objects.filter(status=Establishment.Status.MEMBER)
        .filter(Q(finess_eg__in=site_numbers) | Q(finess_ej__in=ej_numbers))
        .order_by("name", "pk")
        .only("pk", "finess_eg", "finess_ej")
    )
    matched: set[int] = set()
    others: list[dict[str, str]] = []
    for site, ej, activity in sites:
        found = [e.pk for e in members if site and e.finess_eg == site]
        if not found:
            found = [e.pk for e in members if ej and e.finess_ej == ej]
        matched.update(found)
        other = {
            "name": _text(activity.get("raisonSocialeSite")),
            "finess_site": site,
            "finess_ej": ej,
            "postal_code": _text(activity.get("codePostal")),
        }
        if not found and other not in others:
            others.append(other)
    return [e.pk for e in members if e.pk in matched], others


def psc_prefill_from_userinfo(*, userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """Initial values of the accreditation request form from a Pro Santé Connect userinfo.

    Never raises on odd data: a missing or malformed claim leaves its value blank. One query
    (the member establishments named by the activities' FINESS numbers).
    """
    idnps = _text(userinfo.get(IDNPS_CLAIM))
    identifier_type, identifier = _identifier(idnps)
    ref_pro = userinfo.get("SubjectRefPro")
    exercices = _dicts(ref_pro.get("exercices")) if isinstance(ref_pro, Mapping) else []
    exercice = next((e for e in exercices if _text(e.get("codeProfession"))), None)
    exercice = exercice or (exercices[0] if exercices else {})
    establishment_ids, other_sites = _match_establishments(_activities(userinfo, exercices))
    return {
        "idnps": idnps,
        "identifier_type": identifier_type,
        "identifier": identifier,
        "rpps": identifier if identifier_type == "rpps" else "",
        "adeli": identifier if identifier_type == "adeli" else "",
        "first_name": _claim(exercice, "prenomDexercice", "prenomDExercice")
        or _text(userinfo.get("given_name")),
        "last_name": _claim(exercice, "nomDexercice", "nomDExercice")
        or _text(userinfo.get("family_name")),
        "profession_code": _text(exercice.get("codeProfession")),
        "specialty_code": _text(exercice.get("codeSavoirFaire")),
        "establishment_ids": establishment_ids,
        "other_sites": other_sites,
    }


def psc_prefill_store(*, request: HttpRequest, userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the pre-fill of a Pro Santé Connect login in the session; returns it."""
    prefill = psc_prefill_from_userinfo(userinfo=userinfo)
    request.session[PSC_PREFILL_SESSION_KEY] = prefill
    return prefill


def psc_prefill_from_session(request: HttpRequest) -> dict[str, Any] | None:
    """The accreditation request pre-fill of the signed-in user, or None.

    It is the one stored in the session by their last Pro Santé Connect login, provided the
    user owns that Pro Santé Connect account: on a shared workstation, what someone's
    interrupted PSC login left in the session is never shown to the next person who signs in
    there (and it is dropped). When the session holds none (the user signed in by password, or
    in another browser), it is rebuilt from their Pro Santé Connect account's last userinfo.
    None for anonymous users and for users who never signed in with Pro Santé Connect.
    One query when the session holds it; up to three when rebuilding.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    stored = request.session.get(PSC_PREFILL_SESSION_KEY)
    accounts = SocialAccount.objects.filter(user=user, provider=PROVIDER_ID)
    if isinstance(stored, dict) and stored.get("idnps"):
        if accounts.filter(uid=stored["idnps"]).exists():
            return stored
        del request.session[PSC_PREFILL_SESSION_KEY]
    account = accounts.order_by("-last_login", "-pk").first()
    if account is None:
        return None
    userinfo = account.extra_data.get("userinfo") if isinstance(account.extra_data, dict) else None
    if not isinstance(userinfo, Mapping):
        return None
    return psc_prefill_from_userinfo(userinfo=userinfo)
