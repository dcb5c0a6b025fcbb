"""The demo region's access: a GP's grant, an opposition, emergency accesses and a trail of
several hundred decisions made by ``access.decide``, in one unbroken chain."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from access.decision import decide
from access.models import AccessGrant, BreakGlassAccess, Opposition
from audit.chain import FIELDS, digest
from audit.models import GENESIS_HASH, AccessEvent, Action, Channel, Rule
from imaging.models import Patient
from portal.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_leaves_a_realistic_trail_once() -> None:
    call_command("seed_demo", verbosity=0)
    events = AccessEvent.objects.count()
    call_command("seed_demo", verbosity=0)

    assert AccessEvent.objects.count() == events
    assert events >= 300
    rules = set(AccessEvent.objects.values_list("rule", flat=True))
    assert {Rule.CARE_TEAM, Rule.GRANT, Rule.BREAK_GLASS, Rule.PATIENT_SELF} <= rules
    assert Rule.OPPOSITION in rules
    assert Rule.NO_RIGHT in rules
    previous = GENESIS_HASH
    for event in AccessEvent.objects.order_by("chain_seq"):
        assert event.prev_hash == previous
        assert digest({name: getattr(event, name) for name in FIELDS}) == event.hash
        previous = event.hash
    assert Opposition.objects.active().count() == 1
    assert BreakGlassAccess.objects.filter(review="pending").count() == 1


def test_the_demo_gp_sees_helene_and_the_practitioner_without_access_does_not() -> None:
    call_command("seed_demo", verbosity=0)
    helene = Patient.objects.get(user__email="helene.durand@patient.demo")
    gp = User.objects.get(email="dr.generaliste@cabinet-nancy.demo")
    nobody = User.objects.get(email="dr.sans-acces@cabinet-epinal.demo")

    assert AccessGrant.objects.active().filter(practitioner__user=gp, patient=helene).exists()
    seen = decide(user=gp, patient=helene, action=Action.READ, channel=Channel.WEB)
    refused = decide(user=nobody, patient=helene, action=Action.READ, channel=Channel.WEB)
    assert (seen.granted, seen.reason) == (True, Rule.GRANT)
    assert (refused.granted, refused.reason) == (False, Rule.NO_RIGHT)
