"""``seed_demo`` builds the demo region once; running it again changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from establishments.models import Establishment, Membership
from imaging.models import Patient
from portal.demo import DEMO_PASSWORD
from portal.models import User
from practitioners.models import Accreditation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers", "private_storage")]

ACCOUNTS = {
    "admin@ars.demo": "Le réseau régional",
    "auditeur@gcs.demo": "Audit et protection des données",
    "directeur@chr-metz-thionville.demo": "Direction d'établissement",
    "referent@chr-metz-thionville.demo": "Référent d'établissement",
    "directeur@chru-nancy.demo": "Direction d'établissement",
    "referent@icl.demo": "Référent d'établissement",
    "dr.radiologue@chr-metz-thionville.demo": "Mon habilitation",
    "dr.generaliste@cabinet-nancy.demo": "Mon habilitation",
    "dr.sans-acces@cabinet-epinal.demo": "Mon habilitation",
    "dr.en-attente@cabinet-metz.demo": "pas encore de rôle",
    "helene.durand@patient.demo": "Mon dossier d'imagerie",
}


@pytest.fixture
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Establishment.objects.count(),
        Membership.objects.count(),
        Accreditation.objects.count(),
        Patient.objects.count(),
    )


def test_it_is_idempotent() -> None:
    call_command("seed_demo", stdout=None)
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert first[1] >= 3


def test_it_signs_the_founders_and_remiremont_purchase_orders() -> None:
    from billing.models import PurchaseOrder

    call_command("seed_demo")
    active = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.ACTIVE)
    offers = {
        order.establishment.name: sorted(line.offer.code for line in order.lines.all())
        for order in active.select_related("establishment").prefetch_related("lines__offer")
    }
    assert offers == {
        "CHRU de Nancy": ["sharing"],
        "Institut de Cancérologie de Lorraine": ["sharing"],
        "CHR Metz-Thionville": ["sharing"],
        "CH de Remiremont": ["archive", "pacs"],
    }
    assert all(order.signatures.count() == 2 for order in active)


@override_settings(PORTAL_DEMO=True)
def test_every_demo_account_signs_in_to_its_home_page() -> None:
    call_command("seed_demo")
    for email, heading in ACCOUNTS.items():
        client = Client()
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert heading in client.get("/").content.decode(), email


@override_settings(PRODUCTION=True)
def test_it_refuses_to_run_in_production() -> None:
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
