"""The accreditation request pre-fill built from a Pro Santé Connect userinfo."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from establishments.models import Establishment
from portal.models import User
from practitioners.psc_prefill import (
    PSC_PREFILL_SESSION_KEY,
    psc_prefill_from_session,
    psc_prefill_from_userinfo,
    psc_prefill_store,
)
from tests.factories import EstablishmentFactory, UserFactory, with_luhn

pytestmark = pytest.mark.django_db

IDNPS = "810999999013"
SITE = with_luhn("57099911")
OTHER_SITE = with_luhn("57099912")
LEGAL = with_luhn("57099913")


def userinfo(**claims: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": f"f:1234:{IDNPS}",
        "SubjectNameID": IDNPS,
        "given_name": "CLAIRE",
        "family_name": "RADIOTEST",
        "SubjectRefPro": {
            "exercices": [
                {
                    "codeProfession": "10",
                    "codeSavoirFaire": "SM44",
                    "nomDexercice": "RADIOTEST-EXERCICE",
                    "prenomDexercice": "CLAIRE-EXERCICE",
                    "activities": [
                        {
                            "numeroFinessSite": f"{SITE}  ",
                            "numeroFinessetablissementJuridique": LEGAL,
                            "raisonSocialeSite": "CHR",
                        }
                    ],
                }
            ]
        },
    }
    base.update(claims)
    return base


def test_it_prefills_identity_profession_and_specialty() -> None:
    prefill = psc_prefill_from_userinfo(userinfo=userinfo())

    assert prefill["idnps"] == IDNPS
    assert (prefill["identifier_type"], prefill["identifier"]) == ("rpps", "10999999013")
    assert (prefill["rpps"], prefill["adeli"]) == ("10999999013", "")
    # The names of practice, as the imported RPPS reference carries them.
    assert (prefill["first_name"], prefill["last_name"]) == (
        "CLAIRE-EXERCICE",
        "RADIOTEST-EXERCICE",
    )
    assert (prefill["profession_code"], prefill["specialty_code"]) == ("10", "SM44")


def test_it_reads_an_adeli_from_an_idnps_starting_with_zero() -> None:
    prefill = psc_prefill_from_userinfo(userinfo=userinfo(SubjectNameID="0123456789"))

    assert (prefill["identifier_type"], prefill["identifier"]) == ("adeli", "123456789")
    assert (prefill["rpps"], prefill["adeli"]) == ("", "123456789")


@pytest.mark.parametrize("idnps", ["3123456789", "8123", "81234567890A", ""])
def test_it_leaves_an_identifier_it_cannot_read_blank(idnps: str) -> None:
    prefill = psc_prefill_from_userinfo(userinfo=userinfo(SubjectNameID=idnps))

    assert prefill["idnps"] == idnps
    assert prefill["identifier_type"] == prefill["identifier"] == ""
    assert prefill["rpps"] == prefill["adeli"] == ""


def test_it_proposes_member_establishments_matched_by_finess_site() -> None:
    site = EstablishmentFactory(finess_eg=SITE, finess_ej=LEGAL, name="B site")
    EstablishmentFactory(finess_eg=OTHER_SITE, finess_ej=LEGAL, name="A same legal entity")

    prefill = psc_prefill_from_userinfo(userinfo=userinfo())

    # The site matched: its sisters of the same legal entity are not proposed.
    assert prefill["establishment_ids"] == [site.pk]
    assert prefill["other_sites"] == []


def test_it_falls_back_on_the_legal_entity_when_the_site_is_not_a_member() -> None:
    EstablishmentFactory(finess_eg=SITE, finess_ej=LEGAL, status=Establishment.Status.PROSPECT)
    sister_b = EstablishmentFactory(finess_ej=LEGAL, name="B")
    sister_a = EstablishmentFactory(finess_ej=LEGAL, name="A")
    EstablishmentFactory(finess_ej=LEGAL, name="C", status=Establishment.Status.LEFT)

    prefill = psc_prefill_from_userinfo(userinfo=userinfo())

    assert prefill["establishment_ids"] == [sister_a.pk, sister_b.pk]


def test_it_proposes_no_establishment_that_is_not_a_member() -> None:
    EstablishmentFactory(finess_eg=SITE, status=Establishment.Status.PROSPECT)
    EstablishmentFactory(finess_ej=LEGAL, status=Establishment.Status.SUSPENDED)

    prefill = psc_prefill_from_userinfo(userinfo=userinfo())

    assert prefill["establishment_ids"] == []
    assert prefill["other_sites"] == [
        {"name": "CHR", "finess_site": SITE, "finess_ej": LEGAL, "postal_code": ""}
    ]


def test_it_reads_activities_of_every_exercice_and_at_the_top_level() -> None:
    first = EstablishmentFactory(finess_eg=SITE)
    second = EstablishmentFactory(finess_eg=OTHER_SITE)
    info = userinfo(activities=[{"numeroFinessSite": OTHER_SITE}])
    info["SubjectRefPro"]["exercices"].insert(0, {"codeProfession": "", "activities": []})

    prefill = psc_prefill_from_userinfo(userinfo=info)

    assert set(prefill["establishment_ids"]) == {first.pk, second.pk}
    # The first exercice with a profession gives the profession, specialty and names.
    assert (prefill["profession_code"], prefill["last_name"]) == ("10", "RADIOTEST-EXERCICE")


def test_it_accepts_the_other_spelling_of_the_names_of_practice() -> None:
    info = userinfo()
    exercice = info["SubjectRefPro"]["exercices"][0]
    exercice["nomDExercice"] = exercice.pop("nomDexercice")
    exercice["prenomDExercice"] = exercice.pop("prenomDexercice")

    prefill = psc_prefill_from_userinfo(userinfo=info)

    assert (prefill["first_name"], prefill["last_name"]) == (
        "CLAIRE-EXERCICE",
        "RADIOTEST-EXERCICE",
    )


def test_it_survives_a_userinfo_without_professional_data() -> None:
    prefill = psc_prefill_from_userinfo(userinfo={"SubjectNameID": IDNPS, "SubjectRefPro": "?"})

    assert prefill["rpps"] == "10999999013"
    assert prefill["first_name"] == prefill["last_name"] == ""
    assert prefill["profession_code"] == prefill["specialty_code"] == ""
    assert prefill["establishment_ids"] == prefill["other_sites"] == []


def test_it_uses_the_civil_names_when_the_exercice_has_none() -> None:
    info = userinfo(SubjectRefPro={"exercices": [{"codeProfession": "60"}]})

    prefill = psc_prefill_from_userinfo(userinfo=info)

    assert (prefill["first_name"], prefill["last_name"]) == ("CLAIRE", "RADIOTEST")


def test_it_matches_establishments_in_one_query(django_assert_max_num_queries: Any) -> None:
    EstablishmentFactory(finess_eg=SITE)

    with django_assert_max_num_queries(1):
        psc_prefill_from_userinfo(userinfo=userinfo())


def _request(user: Any) -> Any:
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = user
    return request


def _link(user: User, *, idnps: str = IDNPS, info: dict[str, Any] | None = None) -> None:
    SocialAccount.objects.create(
        user=user, provider="pro_sante_connect", uid=idnps, extra_data={"userinfo": info or {}}
    )


def test_it_gives_the_prefill_stored_at_login_to_its_practitioner() -> None:
    user = UserFactory()
    _link(user)
    request = _request(user)
    stored = psc_prefill_store(request=request, userinfo=userinfo())

    assert request.session[PSC_PREFILL_SESSION_KEY] == stored
    assert psc_prefill_from_session(request) == stored


def test_it_gives_no_prefill_to_anonymous_visitors() -> None:
    request = _request(AnonymousUser())
    psc_prefill_store(request=request, userinfo=userinfo())

    assert psc_prefill_from_session(request) is None


def test_it_never_gives_someone_elses_prefill_and_drops_it() -> None:
    # An interrupted PSC login on a shared workstation, then someone else signs in there.
    _link(UserFactory(), idnps=IDNPS)
    next_person = UserFactory()
    _link(next_person, idnps="810999999021", info=userinfo(SubjectNameID="810999999021"))
    request = _request(next_person)
    psc_prefill_store(request=request, userinfo=userinfo())

    prefill = psc_prefill_from_session(request)

    assert PSC_PREFILL_SESSION_KEY not in request.session
    assert prefill is not None
    assert prefill["idnps"] == "810999999021"


def test_it_gives_no_prefill_to_a_user_without_pro_sante_connect() -> None:
    request = _request(UserFactory())
    psc_prefill_store(request=request, userinfo=userinfo())

    assert psc_prefill_from_session(request) is None
    assert PSC_PREFILL_SESSION_KEY not in request.session


def test_it_rebuilds_the_prefill_from_the_account_when_the_session_has_none() -> None:
    site = EstablishmentFactory(finess_eg=SITE)
    user = UserFactory()
    _link(user, info=userinfo())

    prefill = psc_prefill_from_session(_request(user))

    assert prefill is not None
    assert (prefill["rpps"], prefill["establishment_ids"]) == ("10999999013", [site.pk])
