"""Purchase order pages: who sees, builds, signs, countersigns, rejects, terminates and
downloads; re-authentication and second factor before any signature."""

from __future__ import annotations

import hashlib

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from billing.models import PurchaseOrder, Signature
from establishments.models import Membership
from tests.billing.factories import in_days, make_active, make_draft, make_signed
from tests.billing.helpers import mark_recently_authenticated
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


def _url(name: str, order: PurchaseOrder) -> str:
    return reverse(f"billing:{name}", args=[order.pk])


def _signing_client(client_for, user):
    client = client_for(user)
    mark_recently_authenticated(client, user)
    return client


# --- Building a draft ---------------------------------------------------------------------------


def test_a_director_builds_a_draft_through_the_form(client_for, director, hospital, price_list):
    client = client_for(director)
    page = client.get(reverse("billing:purchase-order-create"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'hx-post="/bons-de-commande/estimation/"' in body
    assert 'name="offers" value="pacs"' in body
    response = client.post(
        reverse("billing:purchase-order-create"),
        {
            "establishment": hospital.pk,
            "offers": ["pacs", "sharing"],
            "estimated_yearly_volume": "12000",
            "start_date": in_days(30).isoformat(),
        },
    )
    order = PurchaseOrder.objects.get()
    assert response["Location"] == _url("purchase-order-detail", order)
    detail = client.get(response["Location"]).content.decode()
    assert "8 300,00" in detail.replace("\u202f", " ").replace("\xa0", " ")
    assert "Signer le bon de commande" in detail


def test_the_estimate_endpoint_prices_the_form_live(client_for, director, price_list) -> None:
    response = client_for(director).post(
        reverse("billing:purchase-order-estimate"),
        {
            "offers": ["pacs"],
            "estimated_yearly_volume": "500",
            "start_date": in_days(1).isoformat(),
        },
    )
    text = response.content.decode().replace("\xa0", " ")
    assert response.status_code == 200
    assert "1 450,00" in text  # 1 200 + 500 × 0,50
    incomplete = client_for(director).post(reverse("billing:purchase-order-estimate"), {})
    assert "Choisissez au moins une offre" in incomplete.content.decode()


@pytest.mark.parametrize("who", ["practitioner", "patient", "auditor"])
def test_the_estimate_endpoint_refuses_other_roles(client_for, request, price_list, who) -> None:
    response = client_for(request.getfixturevalue(who)).post(
        reverse("billing:purchase-order-estimate"), {}
    )
    assert response.status_code == 403


def test_the_form_refuses_a_start_date_in_the_past(client_for, director, hospital, price_list):
    response = client_for(director).post(
        reverse("billing:purchase-order-create"),
        {
            "establishment": hospital.pk,
            "offers": ["pacs"],
            "estimated_yearly_volume": "10",
            "start_date": in_days(-1).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "passé" in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_a_director_cannot_build_for_another_establishment(
    client_for, other_director, hospital, price_list
) -> None:
    response = client_for(other_director).post(
        reverse("billing:purchase-order-create"),
        {
            "establishment": hospital.pk,
            "offers": ["pacs"],
            "estimated_yearly_volume": "10",
            "start_date": in_days(3).isoformat(),
        },
    )
    assert response.status_code == 400
    assert not PurchaseOrder.objects.exists()


@pytest.mark.parametrize("who", ["regional_admin", "referent", "practitioner"])
def test_only_directors_reach_the_order_form(client_for, request, price_list, who) -> None:
    response = client_for(request.getfixturevalue(who)).get(
        reverse("billing:purchase-order-create")
    )
    assert response.status_code == 403


def test_a_director_edits_their_draft(client_for, director, hospital, price_list) -> None:
    order = make_draft(establishment=hospital, director=director)
    client = client_for(director)
    assert client.get(_url("purchase-order-edit", order)).status_code == 200
    response = client.post(
        _url("purchase-order-edit", order),
        {"offers": ["archive"], "estimated_yearly_volume": "100", "start_date": in_days(5)},
    )
    assert response.status_code == 302
    assert list(order.lines.values_list("offer__code", flat=True)) == ["archive"]


def test_a_stranger_cannot_edit_a_draft(client_for, other_director, director, hospital, price_list):
    order = make_draft(establishment=hospital, director=director)
    response = client_for(other_director).post(
        _url("purchase-order-edit", order),
        {"offers": ["archive"], "estimated_yearly_volume": "100", "start_date": in_days(5)},
    )
    assert response.status_code == 404
    assert order.lines.count() == 2


# --- Seeing orders ------------------------------------------------------------------------------


def test_parties_see_the_order_page(client_for, director, regional_admin, hospital, price_list):
    order = make_signed(establishment=hospital, director=director)
    for user in (director, regional_admin):
        page = client_for(user).get(_url("purchase-order-detail", order))
        assert page.status_code == 200
        body = page.content.decode()
        assert order.number in body
        assert "Historique" in body
        assert "192.0.2.10" in body


@pytest.mark.parametrize(
    "who", ["other_director", "referent", "practitioner", "auditor", "patient"]
)
def test_non_parties_get_a_404_on_every_order_page(
    client_for, request, director, hospital, price_list, who
) -> None:
    order = make_signed(establishment=hospital, director=director)
    client = client_for(request.getfixturevalue(who))
    for name in (
        "purchase-order-detail",
        "purchase-order-sign",
        "purchase-order-countersign",
        "purchase-order-reject",
        "purchase-order-terminate",
        "purchase-order-pdf",
    ):
        assert client.get(_url(name, order)).status_code == 404, name


def test_anonymous_visitors_are_sent_to_sign_in(client, director, hospital, price_list) -> None:
    order = make_signed(establishment=hospital, director=director)
    for url in (
        reverse("billing:purchase-order-list"),
        _url("purchase-order-detail", order),
        _url("purchase-order-pdf", order),
    ):
        assert client.get(url)["Location"].startswith(reverse("account_login"))


def test_the_list_shows_directors_only_their_establishments_orders(
    client_for, director, other_director, hospital, other_hospital, price_list
) -> None:
    mine = make_signed(establishment=hospital, director=director)
    theirs = make_signed(establishment=other_hospital, director=other_director)
    body = client_for(director).get(reverse("billing:purchase-order-list")).content.decode()
    assert mine.number in body
    assert theirs.number not in body


def test_the_list_shows_regional_admins_every_order_with_filters(
    client_for, regional_admin, director, other_director, hospital, other_hospital, price_list
) -> None:
    mine = make_signed(establishment=hospital, director=director)
    theirs = make_draft(establishment=other_hospital, director=other_director)
    client = client_for(regional_admin)
    body = client.get(reverse("billing:purchase-order-list")).content.decode()
    assert mine.number in body
    assert str(theirs) in body
    filtered = client.get(
        reverse("billing:purchase-order-list"), {"status": "signed"}
    ).content.decode()
    assert mine.number in filtered
    assert str(theirs) not in filtered
    by_place = client.get(
        reverse("billing:purchase-order-list"), {"establishment": other_hospital.pk}
    ).content.decode()
    assert mine.number not in by_place
    assert str(theirs) in by_place


@pytest.mark.parametrize("who", ["referent", "practitioner", "auditor", "patient"])
def test_the_list_refuses_other_roles(client_for, request, who) -> None:
    response = client_for(request.getfixturevalue(who)).get(reverse("billing:purchase-order-list"))
    assert response.status_code == 403


def test_list_pages_run_a_bounded_number_of_queries(
    client_for, regional_admin, director, hospital, price_list, django_assert_max_num_queries
) -> None:
    for _ in range(6):
        make_signed(establishment=hospital, director=director)
    for user, route in (
        (regional_admin, "billing:purchase-order-list"),
        (regional_admin, "billing:purchase-order-queue"),
        (director, "billing:purchase-order-list"),
    ):
        client = client_for(user)
        client.get(reverse(route))
        with django_assert_max_num_queries(16):
            response = client.get(reverse(route))
        assert response.content.decode().count("BC-") >= 6


def test_the_queue_lists_orders_awaiting_countersignature(
    client_for, regional_admin, director, hospital, price_list
) -> None:
    waiting = make_signed(establishment=hospital, director=director)
    draft = make_draft(establishment=hospital, director=director)
    body = client_for(regional_admin).get(reverse("billing:purchase-order-queue")).content.decode()
    assert waiting.number in body
    assert _url("purchase-order-detail", draft) not in body


def test_the_queue_is_for_regional_admins(client_for, director) -> None:
    assert client_for(director).get(reverse("billing:purchase-order-queue")).status_code == 403


# --- Signing ------------------------------------------------------------------------------------


def test_the_director_signs_after_reauthentication_and_with_a_second_factor(
    client_for,
    director,
    regional_admin,
    hospital,
    price_list,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    order = make_draft(establishment=hospital, director=director)
    client = _signing_client(client_for, director)
    confirm = client.get(_url("purchase-order-sign", order))
    assert confirm.status_code == 200
    assert "Signer électroniquement" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("purchase-order-sign", order), REMOTE_ADDR="203.0.113.5")
    assert response["Location"] == _url("purchase-order-detail", order)
    order.refresh_from_db()
    assert order.status == Status.SIGNED
    assert order.signatures.get().ip_address == "203.0.113.5"
    assert any(regional_admin.email in mail.to for mail in mailoutbox)


def test_signing_without_recent_reauthentication_asks_for_the_password(
    client_for, director, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director)
    response = client_for(director).post(_url("purchase-order-sign", order))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    order.refresh_from_db()
    assert order.status == Status.DRAFT


@pytest.fixture
def director_without_mfa(hospital):
    user = UserFactory(email="sans.mfa@chr.test")
    MembershipFactory(user=user, establishment=hospital, role=Membership.Role.DIRECTOR)
    return user


@override_settings(PORTAL_MFA_ENFORCED=False)
def test_signing_without_a_second_factor_is_refused(
    client_for, director_without_mfa, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director_without_mfa)
    client = _signing_client(client_for, director_without_mfa)
    assert client.get(_url("purchase-order-detail", order)).status_code == 200
    response = client.post(_url("purchase-order-sign", order))
    assert response.status_code == 403
    assert "deux facteurs" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.DRAFT


@override_settings(PORTAL_MFA_ENFORCED=False, PORTAL_DEMO=True)
def test_the_demonstration_lets_a_director_without_second_factor_sign(
    client_for, director_without_mfa, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director_without_mfa)
    client = _signing_client(client_for, director_without_mfa)
    response = client.post(_url("purchase-order-sign", order))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Status.SIGNED


def test_signing_twice_through_the_page_is_refused_with_a_message(
    client_for, director, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director)
    client = _signing_client(client_for, director)
    client.post(_url("purchase-order-sign", order))
    response = client.post(_url("purchase-order-sign", order), follow=True)
    assert "déjà signé" in response.content.decode()
    assert Signature.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("who", ["regional_admin", "referent"])
def test_only_the_director_signs_through_the_page(
    client_for, request, director, hospital, price_list, who
) -> None:
    order = make_draft(establishment=hospital, director=director)
    user = request.getfixturevalue(who)
    response = _signing_client(client_for, user).post(_url("purchase-order-sign", order))
    # The admin may see the order (403: not theirs to sign); the referent is no party (404).
    assert response.status_code == (403 if who == "regional_admin" else 404)
    order.refresh_from_db()
    assert order.status == Status.DRAFT


def test_a_director_of_another_establishment_cannot_sign_through_the_page(
    client_for, other_director, director, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director)
    response = _signing_client(client_for, other_director).post(_url("purchase-order-sign", order))
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Status.DRAFT


# --- Countersigning, rejecting, terminating -----------------------------------------------------


def test_a_regional_admin_countersigns_through_the_page(
    client_for,
    regional_admin,
    director,
    hospital,
    price_list,
    mailoutbox,
    django_capture_on_commit_callbacks,
) -> None:
    hospital.status = "prospect"
    hospital.save(update_fields=["status"])
    order = make_signed(establishment=hospital, director=director)
    client = _signing_client(client_for, regional_admin)
    assert client.get(_url("purchase-order-countersign", order)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("purchase-order-countersign", order))
    assert response.status_code == 302
    order.refresh_from_db()
    hospital.refresh_from_db()
    assert (order.status, hospital.status) == (Status.ACTIVE, "member")
    assert [mail.to for mail in mailoutbox] == [[director.email]]


def test_countersigning_needs_reauthentication(
    client_for, regional_admin, director, hospital, price_list
):
    order = make_signed(establishment=hospital, director=director)
    response = client_for(regional_admin).post(_url("purchase-order-countersign", order))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    order.refresh_from_db()
    assert order.status == Status.SIGNED


@override_settings(PORTAL_MFA_ENFORCED=False)
def test_countersigning_without_a_second_factor_is_refused(
    client_for, director, hospital, price_list
) -> None:
    from portal.roles import Role
    from portal.services import user_grant_group_role

    admin = UserFactory(email="admin.sans.mfa@ars.test")
    user_grant_group_role(user=admin, role=Role.REGIONAL_ADMIN)
    order = make_signed(establishment=hospital, director=director)
    response = _signing_client(client_for, admin).post(_url("purchase-order-countersign", order))
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.SIGNED


def test_a_director_cannot_countersign_their_own_order(client_for, director, hospital, price_list):
    order = make_signed(establishment=hospital, director=director)
    response = _signing_client(client_for, director).post(_url("purchase-order-countersign", order))
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.SIGNED


def test_a_regional_admin_rejects_with_a_reason_through_the_page(
    client_for, regional_admin, director, hospital, price_list
) -> None:
    order = make_signed(establishment=hospital, director=director)
    client = client_for(regional_admin)
    empty = client.post(_url("purchase-order-reject", order), {"reason": "  "})
    assert empty.status_code == 400
    assert "Ce champ est obligatoire" in empty.content.decode()
    order.refresh_from_db()
    assert order.status == Status.SIGNED
    response = client.post(_url("purchase-order-reject", order), {"reason": "Volume à revoir"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == (Status.REJECTED, "Volume à revoir")


def test_a_director_cannot_reject(client_for, director, hospital, price_list) -> None:
    order = make_signed(establishment=hospital, director=director)
    response = client_for(director).post(_url("purchase-order-reject", order), {"reason": "Non"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.SIGNED


def test_a_director_terminates_through_the_page(
    client_for, director, regional_admin, hospital, price_list
) -> None:
    order = make_active(
        establishment=hospital, director=director, admin=regional_admin, start_date=in_days(0)
    )
    client = client_for(director)
    assert client.get(_url("purchase-order-terminate", order)).status_code == 200
    missing = client.post(_url("purchase-order-terminate", order), {"effective_date": in_days(0)})
    assert missing.status_code == 400
    response = client.post(
        _url("purchase-order-terminate", order),
        {"effective_date": timezone.localdate().isoformat(), "reason": "Fusion"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    hospital.refresh_from_db()
    assert (order.status, hospital.status) == (Status.TERMINATED, "left")


def test_a_director_amends_an_active_order_through_the_page(
    client_for, director, regional_admin, hospital, price_list
) -> None:
    order = make_active(
        establishment=hospital, director=director, admin=regional_admin, start_date=in_days(0)
    )
    response = client_for(director).post(
        _url("purchase-order-amend", order),
        {
            "offers": ["pacs", "archive"],
            "estimated_yearly_volume": "15000",
            "start_date": in_days(30),
        },
    )
    amendment = PurchaseOrder.objects.get(amends=order)
    assert response["Location"] == _url("purchase-order-detail", amendment)
    assert amendment.status == Status.DRAFT


def test_a_stranger_cannot_terminate_or_amend(
    client_for, other_director, director, regional_admin, hospital, price_list
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    client = client_for(other_director)
    terminate = client.post(
        _url("purchase-order-terminate", order), {"effective_date": in_days(0), "reason": "Non"}
    )
    amend = client.post(
        _url("purchase-order-amend", order),
        {"offers": ["pacs"], "estimated_yearly_volume": "1", "start_date": in_days(90)},
    )
    assert (terminate.status_code, amend.status_code) == (404, 404)
    order.refresh_from_db()
    assert order.status == Status.ACTIVE


# --- The PDF ------------------------------------------------------------------------------------


def test_parties_download_the_stored_pdf(
    client_for, director, regional_admin, hospital, price_list
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    for user in (director, regional_admin):
        response = client_for(user).get(_url("purchase-order-pdf", order))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{order.number}.pdf"'
        content = b"".join(response.streaming_content)
        assert content.startswith(b"%PDF")
        final = order.documents.get(kind="countersigned")
        assert hashlib.sha256(content).hexdigest() == final.sha256
    signed = client_for(director).get(_url("purchase-order-pdf", order), {"version": "signe"})
    assert signed["Content-Disposition"] == f'attachment; filename="{order.number}-signe.pdf"'
    assert hashlib.sha256(b"".join(signed.streaming_content)).hexdigest() == (
        order.documents.get(kind="signed").sha256
    )


def test_a_draft_has_no_pdf(client_for, director, hospital, price_list) -> None:
    order = make_draft(establishment=hospital, director=director)
    assert client_for(director).get(_url("purchase-order-pdf", order)).status_code == 404


def test_after_typing_the_password_again_the_signature_goes_through(
    client_for, director, hospital, price_list
) -> None:
    order = make_draft(establishment=hospital, director=director)
    client = client_for(director)
    asked = client.post(_url("purchase-order-sign", order))
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    # allauth replays the suspended POST once the password is confirmed.
    response = client.post(asked["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Status.SIGNED
