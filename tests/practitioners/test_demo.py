"""The demo region's practitioners: a radiologist in CHR Metz-Thionville's care team, two
city practitioners, and a pending request for the referent of CHR Metz-Thionville."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from establishments.demo import establishment
from portal.models import User
from practitioners.models import AccreditationRequest, PracticeSite, PractitionerReference
from practitioners.selectors import is_in_care_team, requests_reviewable_by

pytestmark = pytest.mark.django_db


def test_the_demo_has_the_practitioners_of_design() -> None:
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent

    chr_metz = establishment("chr-metz-thionville")
    radiologist = User.objects.get(email="dr.radiologue@chr-metz-thionville.demo")
    assert is_in_care_team(user=radiologist, establishment=chr_metz)
    assert radiologist.practitioner.specialty_code == "SM44"
    gp = PracticeSite.objects.get(practitioner__user__email="dr.generaliste@cabinet-nancy.demo")
    assert (gp.practice_name, gp.city, gp.establishment) == (
        "Cabinet médical Stanislas",
        "Nancy",
        None,
    )
    assert (
        PracticeSite.objects.get(practitioner__user__email="dr.sans-acces@cabinet-epinal.demo").city
        == "Épinal"
    )

    pending = AccreditationRequest.objects.get(user__email="dr.en-attente@cabinet-metz.demo")
    assert pending.status == "submitted"
    referent = User.objects.get(email="referent@chr-metz-thionville.demo")
    assert list(requests_reviewable_by(user=referent)) == [pending]
    other = User.objects.get(email="referent@chru-nancy.demo")
    assert not requests_reviewable_by(user=other).exists()
    for rpps in ("10999999013", "10999999021", "10999999039", "10999999047"):
        assert PractitionerReference.objects.filter(rpps=rpps).exists()
    assert PractitionerReference.objects.count() > 4
    assert AccreditationRequest.objects.count() == 1
