"""The demo's telephony directory (practitioners/demo_directory.py): shown as last synced."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

import practitioners.demo_directory  # noqa: F401 - registers the seed step (until demo.py does)
from establishments.demo import establishment
from practitioners.directory_sync import SyncReport
from practitioners.models import PracticeSite, TelephonyDirectory

pytestmark = pytest.mark.django_db


def test_it_gives_chr_metz_thionville_a_directory_synced_once() -> None:
    call_command("seed_demo", stdout=StringIO())

    directory = TelephonyDirectory.objects.get(establishment=establishment("chr-metz-thionville"))
    assert directory.url == "ldap://127.0.0.1:13389"
    assert directory.has_password
    assert directory.last_success_at is not None
    report = SyncReport.from_json(directory.last_report)
    assert (report.entries, report.matched, report.unmatched_count) == (4, 1, 3)
    site = PracticeSite.objects.get(
        establishment=directory.establishment, practitioner__rpps="10999999013"
    )
    assert (site.phone, site.mobile) == ("0387553131", "0612345678")


def test_it_changes_nothing_the_second_time() -> None:
    call_command("seed_demo", stdout=StringIO())
    before = (
        list(TelephonyDirectory.objects.values()),
        list(PracticeSite.objects.order_by("pk").values()),
    )

    call_command("seed_demo", stdout=StringIO())

    assert (
        list(TelephonyDirectory.objects.values()),
        list(PracticeSite.objects.order_by("pk").values()),
    ) == before
