"""Database side of the telephony directory tests: the hospital's directory pointing at the test
slapd, and practitioners practising at the hospital.

Test modules import the fixtures they use (``from tests.practitioners.ldap.fixtures import ...``).
"""

from __future__ import annotations

from typing import Any

import pytest

from establishments.models import Establishment
from practitioners.directory_sync import telephony_directory_save
from practitioners.models import PracticeSite, TelephonyDirectory
from tests.factories import PractitionerFactory, UserFactory
from tests.practitioners.ldap import directory_data as data
from tests.practitioners.ldap.server import SlapdServer, slapd

__all__ = ["directory", "practice_site", "slapd", "staff"]

PAGE_SIZE = 50  # the 128 entries come in three pages


def practice_site(
    establishment: Establishment,
    *,
    first_name: str,
    last_name: str,
    rpps: str | None = None,
    adeli: str | None = None,
    email: str = "",
    **fields: Any,
) -> PracticeSite:
    """A practitioner practising at ``establishment`` (an active site unless told otherwise)."""
    user = UserFactory(first_name=first_name, last_name=last_name)
    identifiers: dict[str, Any] = {"rpps": rpps, "adeli": adeli}
    if rpps is None and adeli is None:
        identifiers = {}  # the factory's own RPPS
    practitioner = PractitionerFactory(
        user=user, first_name=first_name, last_name=last_name, email=email, **identifiers
    )
    return PracticeSite.objects.create(
        practitioner=practitioner, establishment=establishment, **fields
    )


@pytest.fixture
def directory(hospital: Establishment, slapd: SlapdServer) -> TelephonyDirectory:
    """The hospital's directory, configured as a referent would, on the test slapd."""
    return telephony_directory_save(
        establishment=hospital,
        url=slapd.url,
        base_dn=data.PEOPLE_BASE,
        search_filter="(objectClass=inetOrgPerson)",
        bind_dn=data.READER_DN,
        password=data.READER_PASSWORD,
    )


@pytest.fixture
def staff(hospital: Establishment) -> dict[str, PracticeSite]:
    """The hospital's practitioners, one per case the sync must handle."""
    previously_seen = {"directory_dn": f"cn=Ancienne entrée,{data.PEOPLE_BASE}"}
    return {
        "keller": practice_site(
            hospital,
            first_name="Nicolas",
            last_name="Keller",
            rpps=data.RPPS_KELLER,
            email="n.keller@ailleurs.test",
        ),
        "muller": practice_site(
            hospital,
            first_name="Hélène",
            last_name="Müller-Éluard",
            rpps=data.RPPS_MULLER,
            phone="0000",
        ),
        "dupont": practice_site(
            hospital,
            first_name="Jean",
            last_name="Dupont",
            rpps=data.RPPS_DUPONT,
            email="jean.dupont@chr-metz-thionville.fr",
        ),
        "schmitt": practice_site(
            hospital,
            first_name="Claire",
            last_name="Schmitt",
            email=data.SHARED_EMAIL,
            phone="0387000000",
            **previously_seen,
        ),
        "weber": practice_site(
            hospital,
            first_name="Marc",
            last_name="Weber",
            rpps=data.RPPS_WEBER,
            **previously_seen,
        ),
        "agent": practice_site(
            hospital,
            first_name="Agent",
            last_name="Numéro 117",
            rpps=data.generated_rpps(117),
        ),
        "adeli": practice_site(  # a manipulator: no RPPS, found by e-mail despite the entry's
            hospital,
            first_name="Agent",
            last_name="Numéro 003",
            adeli="579999999",
            email="agent003@chr-metz-thionville.fr",
        ),
        "leaver": practice_site(
            hospital,
            first_name="Paul",
            last_name="Parti",
            phone="0387999999",
            directory_dn=f"cn=Paul Parti,{data.PEOPLE_BASE}",
        ),
        "never_seen": practice_site(hospital, first_name="Lucie", last_name="Nouvelle"),
        "ended": practice_site(
            hospital,
            first_name="Agent",
            last_name="Numéro 042",
            rpps=data.generated_rpps(42),
            status=PracticeSite.Status.ENDED,
        ),
    }
