"""The technical admin shows the trail and the purges, and can change neither."""

from __future__ import annotations

import pytest

from audit.models import AccessEvent, RetentionAnchor, RetentionRun
from portal.models import User
from tests.audit.conftest import record
from tests.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.django_db


def staff(email: str, *, superuser: bool) -> User:
    """A technical administrator (the admin is for them, not for any portal role)."""
    user = UserFactory(email=email)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=superuser)
    enrol_totp(user)
    user.refresh_from_db()
    return user


@pytest.fixture
def superuser() -> User:
    return staff("racine@gcs.test", superuser=True)


def test_it_lists_the_trail_and_the_purges(client_for, superuser) -> None:
    rows = record(3, actor_label="Dr Léa Martin")
    purge = RetentionRun.objects.create(
        month="2025-01-01",
        row_count=7,
        export_path="/var/audit-2025-01.csv.gz",
        export_sha256="c" * 64,
        retention_months=12,
    )
    RetentionAnchor.objects.create(
        run=purge, chain=11, row_count=7, first_seq=40, last_seq=46, last_hash="d" * 64
    )
    client = client_for(superuser)
    page = client.get("/admin/audit/accessevent/")
    assert page.status_code == 200
    listing = page.content.decode()
    assert "Dr Léa Martin" in listing
    assert "column-chain" in listing
    assert client.get(f"/admin/audit/accessevent/{rows[0].pk}/change/").status_code == 200
    page = client.get("/admin/audit/retentionrun/")
    assert page.status_code == 200
    assert "/var/audit-2025-01.csv.gz" in page.content.decode()
    page = client.get(f"/admin/audit/retentionrun/{purge.pk}/change/")
    assert page.status_code == 200
    assert "d" * 64 in page.content.decode()


def test_it_cannot_add_change_nor_delete_a_trace(client_for, superuser) -> None:
    rows = record(1, actor_label="Dr Léa Martin")
    client = client_for(superuser)
    assert client.get("/admin/audit/accessevent/add/").status_code == 403
    assert client.get(f"/admin/audit/accessevent/{rows[0].pk}/delete/").status_code == 403
    client.post(f"/admin/audit/accessevent/{rows[0].pk}/change/", {"actor_label": "Personne"})
    assert AccessEvent.objects.get().actor_label == "Dr Léa Martin"
    listing = client.get("/admin/audit/accessevent/").content.decode()
    assert "delete_selected" not in listing
    assert client.get("/admin/audit/retentionrun/add/").status_code == 403


def test_it_refuses_staff_without_the_right(client_for) -> None:
    user = staff("technicien@gcs.test", superuser=False)
    assert client_for(user).get("/admin/audit/accessevent/").status_code == 403
