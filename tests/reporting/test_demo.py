"""The demo region's reporting: a year of rollups with activity in them, the funder's
indicators and the hand-entered figures, built once."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from reporting.models import DailyRollup, Indicator, ManualValue
from reporting.periods import period_parse
from reporting.selectors import establishments_table, region_figures

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_several_months_of_figures_once() -> None:
    call_command("seed_demo", verbosity=0)
    values = ManualValue.objects.count()
    call_command("seed_demo", verbosity=0)

    assert ManualValue.objects.count() == values == 8  # four quarters, volume and budget
    assert Indicator.objects.count() == 8
    today = timezone.localdate()
    region_days = DailyRollup.objects.filter(establishment=None)
    assert region_days.filter(day__lte=today - datetime.timedelta(days=360)).exists()
    last_months = period_parse(f"{(today - datetime.timedelta(days=89)).isoformat()}..{today}")
    figures = region_figures(period=last_months)
    assert figures["studies_produced"] > 20
    assert figures["outside_accesses"] > 0  # the GP, through the grant on Hélène Durand
    assert figures["practitioners_accessing"] >= 4
    assert figures["portal_patients"] >= 1
    assert figures["accreditations_active"] >= 5
    assert figures.members_by_offer.get("sharing") == 3
    names = [line.establishment.name for line in establishments_table(period=last_months)]
    assert {"CHRU de Nancy", "CHR Metz-Thionville", "Institut de Cancérologie de Lorraine"} <= set(
        names
    )
