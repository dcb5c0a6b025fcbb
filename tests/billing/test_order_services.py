"""Purchase orders through their services: every transition and every refusal."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing import services
from billing.models import (
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderEvent,
    Signature,
)
from billing.models.orders import ImmutableError
from billing.pricing import Band, OfferTariff
from billing.selectors import establishment_active_offers, purchase_order_document_verify
from tests.billing.factories import (
    DEFAULT_TARIFFS,
    in_days,
    make_active,
    make_draft,
    make_price_list,
    make_signed,
)

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


def _events(order: PurchaseOrder) -> list[str]:
    return list(order.events.order_by("at", "pk").values_list("kind", flat=True))


# --- Drafts -------------------------------------------------------------------------------------


def test_a_director_builds_a_draft_priced_with_the_list_in_force(
    price_list, hospital, director
) -> None:
    order = make_draft(establishment=hospital, director=director)
    assert order.status == Status.DRAFT
    assert order.number is None
    assert order.price_list == price_list
    lines = {line.offer.code: line for line in order.lines.select_related("offer")}
    # 12 000 studies: PACS 1 200 + 12 000 × 0,40; sharing 500 + 12 000 × 0,15.
    assert lines["pacs"].amount == Decimal("6000.00")
    assert lines["pacs"].price_per_study == Decimal("0.40")
    assert lines["sharing"].amount == Decimal("2300.00")
    assert _events(order) == ["created"]


def test_a_director_of_another_establishment_cannot_build_its_orders(
    price_list, hospital, other_director
) -> None:
    with pytest.raises(PermissionDenied):
        make_draft(establishment=hospital, director=other_director)
    assert not PurchaseOrder.objects.exists()


def test_a_regional_admin_cannot_build_an_order(price_list, hospital, regional_admin) -> None:
    with pytest.raises(PermissionDenied):
        make_draft(establishment=hospital, director=regional_admin)


def test_it_refuses_an_order_without_offers_or_volume(price_list, hospital, director) -> None:
    with pytest.raises(ValidationError) as no_offer:
        make_draft(establishment=hospital, director=director, offer_codes=())
    with pytest.raises(ValidationError) as no_volume:
        make_draft(establishment=hospital, director=director, volume=0)
    assert "offers" in no_offer.value.message_dict
    assert "estimated_yearly_volume" in no_volume.value.message_dict


def test_it_refuses_a_start_date_no_price_list_covers(offers, hospital, director) -> None:
    make_price_list(valid_from=datetime.date(2020, 1, 1), valid_until=datetime.date(2020, 12, 31))
    with pytest.raises(ValidationError) as error:
        make_draft(establishment=hospital, director=director)
    assert "Aucune grille tarifaire" in str(error.value.message_dict["start_date"])


def test_it_refuses_an_offer_the_list_does_not_price(offers, hospital, director) -> None:
    make_price_list(tariffs=[DEFAULT_TARIFFS[0]])
    with pytest.raises(ValidationError) as error:
        make_draft(establishment=hospital, director=director, offer_codes=("pacs", "archive"))
    assert "Archivage" in str(error.value)


def test_a_director_updates_a_draft_and_it_is_priced_again(price_list, hospital, director) -> None:
    order = make_draft(establishment=hospital, director=director)
    services.purchase_order_update(
        order=order,
        offer_codes=["archive"],
        estimated_yearly_volume=100,
        start_date=in_days(10),
        by=director,
    )
    line = order.lines.get()
    assert (line.offer.code, line.amount) == ("archive", Decimal("810.00"))
    assert _events(order) == ["created", "updated"]


def test_a_director_of_another_establishment_cannot_update_a_draft(
    price_list, hospital, director, other_director
) -> None:
    order = make_draft(establishment=hospital, director=director)
    with pytest.raises(PermissionDenied):
        services.purchase_order_update(
            order=order,
            offer_codes=["archive"],
            estimated_yearly_volume=1,
            start_date=in_days(10),
            by=other_director,
        )


# --- Signature ----------------------------------------------------------------------------------


def test_the_director_signs_a_draft(price_list, hospital, director) -> None:
    order = make_draft(establishment=hospital, director=director)
    signed = services.purchase_order_sign(order=order, user=director, ip_address="192.0.2.10")
    year = timezone.localdate().year
    assert signed.status == Status.SIGNED
    assert signed.number == f"BC-{year}-0001"
    assert signed.signed_at is not None
    signature = Signature.objects.get(order=order)
    assert (signature.role, signature.user, signature.ip_address) == (
        "director",
        director,
        "192.0.2.10",
    )
    assert signature.signer_name == "Bob Directeur"
    document = PurchaseOrderDocument.objects.get(order=order)
    assert document.kind == "signed"
    assert signature.document_sha256 == document.sha256
    assert purchase_order_document_verify(document=document)
    assert _events(order) == ["created", "signed"]


def test_signing_twice_is_refused(price_list, hospital, director) -> None:
    order = make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError) as error:
        services.purchase_order_sign(order=order, user=director, ip_address="192.0.2.10")
    assert error.value.code == "already_signed"
    assert Signature.objects.filter(order=order).count() == 1
    assert PurchaseOrderDocument.objects.filter(order=order).count() == 1


def test_a_director_of_another_establishment_cannot_sign(
    price_list, hospital, director, other_director
) -> None:
    order = make_draft(establishment=hospital, director=director)
    with pytest.raises(PermissionDenied):
        services.purchase_order_sign(order=order, user=other_director, ip_address=None)
    order.refresh_from_db()
    assert (order.status, order.number) == (Status.DRAFT, None)


def test_a_regional_admin_cannot_sign_for_the_establishment(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_draft(establishment=hospital, director=director)
    with pytest.raises(PermissionDenied):
        services.purchase_order_sign(order=order, user=regional_admin, ip_address=None)


def test_numbers_are_consecutive_and_never_shared(
    price_list, hospital, director, other_hospital, other_director
) -> None:
    first = make_signed(establishment=hospital, director=director)
    draft = make_draft(establishment=other_hospital, director=other_director)
    second = make_signed(establishment=other_hospital, director=other_director)
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"BC-{year}-0001", f"BC-{year}-0002")
    draft.refresh_from_db()
    assert draft.number is None  # a draft takes no number


def test_a_failed_signature_gives_its_number_back(price_list, hospital, director) -> None:
    order = make_draft(establishment=hospital, director=director)
    price_list.valid_until = datetime.date(2020, 12, 31)
    price_list.save(update_fields=["valid_until"])  # no list in force on the start date any more
    with pytest.raises(ValidationError):
        services.purchase_order_sign(order=order, user=director, ip_address=None)
    make_price_list(label="Nouvelle", valid_from=datetime.date(2021, 1, 1))
    signed = services.purchase_order_sign(order=order, user=director, ip_address=None)
    assert signed.number == f"BC-{timezone.localdate().year}-0001"


def test_signature_freezes_prices_a_new_price_list_does_not_change_them(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_signed(establishment=hospital, director=director, start_date=in_days(30))
    frozen = list(order.lines.values_list("offer__code", "annual_fee", "price_per_study", "amount"))
    # The regional admin closes the list and publishes new prices from the next day.
    services.price_list_close(price_list=price_list, valid_until=in_days(30), by=regional_admin)
    doubled = [
        OfferTariff(
            t.offer_code,
            t.annual_fee * 2,
            tuple(Band(b.min_volume, b.max_volume, b.price_per_study * 2) for b in t.bands),
        )
        for t in DEFAULT_TARIFFS
    ]
    make_price_list(label="Hausse", valid_from=in_days(31), tariffs=doubled)
    services.purchase_order_countersign(order=order, user=regional_admin, ip_address=None)
    after = list(order.lines.values_list("offer__code", "annual_fee", "price_per_study", "amount"))
    assert after == frozen
    # A draft starting under the new list is priced with it.
    draft = make_draft(establishment=hospital, director=director, start_date=in_days(40))
    assert draft.lines.get(offer__code="pacs").amount == Decimal("12000.00")


def test_a_draft_follows_changes_of_its_price_list_until_signed(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_draft(establishment=hospital, director=director, offer_codes=("archive",))
    services.price_list_update(
        price_list=price_list,
        label=price_list.label,
        valid_from=price_list.valid_from,
        valid_until=None,
        tariffs=[OfferTariff("archive", Decimal("100"), (Band(0, None, Decimal("0.01")),))],
        by=regional_admin,
    )
    services.purchase_order_sign(order=order, user=director, ip_address=None)
    assert order.lines.get().amount == Decimal("220.00")  # 100 + 12 000 × 0,01


# --- Countersignature and rejection -------------------------------------------------------------


def test_a_regional_admin_countersigns_and_the_establishment_becomes_member(
    price_list, hospital, director, regional_admin
) -> None:
    hospital.status = "prospect"
    hospital.save(update_fields=["status"])
    order = make_signed(establishment=hospital, director=director)
    services.purchase_order_countersign(order=order, user=regional_admin, ip_address="198.51.100.7")
    order.refresh_from_db()
    hospital.refresh_from_db()
    assert order.status == Status.ACTIVE
    assert order.countersigned_at is not None
    assert hospital.status == "member"
    admin_signature = order.signatures.get(role="regional_admin")
    final = order.documents.get(kind="countersigned")
    assert admin_signature.document_sha256 == final.sha256
    assert admin_signature.ip_address == "198.51.100.7"
    assert order.documents.count() == 2
    assert _events(order) == ["created", "signed", "countersigned"]


def test_countersigning_twice_is_refused(price_list, hospital, director, regional_admin) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    with pytest.raises(ValidationError) as error:
        services.purchase_order_countersign(order=order, user=regional_admin, ip_address=None)
    assert error.value.code == "not_signed"
    assert order.signatures.count() == 2


def test_a_draft_cannot_be_countersigned(price_list, hospital, director, regional_admin) -> None:
    order = make_draft(establishment=hospital, director=director)
    with pytest.raises(ValidationError):
        services.purchase_order_countersign(order=order, user=regional_admin, ip_address=None)


@pytest.mark.parametrize("who", ["director", "auditor", "other_director"])
def test_only_a_regional_admin_countersigns(request, price_list, hospital, director, who) -> None:
    order = make_signed(establishment=hospital, director=director)
    with pytest.raises(PermissionDenied):
        services.purchase_order_countersign(
            order=order, user=request.getfixturevalue(who), ip_address=None
        )
    order.refresh_from_db()
    assert order.status == Status.SIGNED


def test_a_regional_admin_rejects_with_a_reason(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_signed(establishment=hospital, director=director)
    services.purchase_order_reject(order=order, user=regional_admin, reason="  Volume irréaliste ")
    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == (Status.REJECTED, "Volume irréaliste")
    assert order.rejected_at is not None
    assert _events(order)[-1] == "rejected"


def test_a_rejection_without_reason_is_refused(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError) as error:
        services.purchase_order_reject(order=order, user=regional_admin, reason="   ")
    assert "reason" in error.value.message_dict
    order.refresh_from_db()
    assert order.status == Status.SIGNED


@pytest.mark.parametrize("who", ["director", "other_director", "referent"])
def test_only_a_regional_admin_rejects(request, price_list, hospital, director, who) -> None:
    order = make_signed(establishment=hospital, director=director)
    with pytest.raises(PermissionDenied):
        services.purchase_order_reject(order=order, user=request.getfixturevalue(who), reason="Non")


def test_a_rejected_order_cannot_be_countersigned(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_signed(establishment=hospital, director=director)
    services.purchase_order_reject(order=order, user=regional_admin, reason="Non")
    with pytest.raises(ValidationError):
        services.purchase_order_countersign(order=order, user=regional_admin, ip_address=None)


# --- E-mails ------------------------------------------------------------------------------------


def test_signing_tells_regional_admins_and_directors(
    price_list, hospital, director, regional_admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    order = make_draft(establishment=hospital, director=director)
    with django_capture_on_commit_callbacks(execute=True):
        order = services.purchase_order_sign(order=order, user=director, ip_address=None)
    by_recipient = {tuple(mail.to): mail for mail in mailoutbox}
    to_admins = by_recipient[(regional_admin.email,)]
    assert f"{order.number} à contresigner" in to_admins.subject
    assert hospital.name in to_admins.body
    assert f"{order.number} signé" in by_recipient[(director.email,)].subject


def test_countersignature_and_rejection_are_mailed_to_directors(
    price_list, hospital, director, regional_admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    first = make_signed(establishment=hospital, director=director)
    second = make_signed(establishment=hospital, director=director)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.purchase_order_countersign(order=first, user=regional_admin, ip_address=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.purchase_order_reject(order=second, user=regional_admin, reason="Doublon")
    subjects = [(mail.to, mail.subject) for mail in mailoutbox]
    assert [to for to, _ in subjects] == [[director.email], [director.email]]
    assert "contresigné" in subjects[0][1]
    assert "refusé" in subjects[1][1]
    assert "Doublon" in mailoutbox[1].body


# --- Termination --------------------------------------------------------------------------------


def test_termination_today_ends_the_order_and_the_membership(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_active(
        establishment=hospital, director=director, admin=regional_admin, start_date=in_days(0)
    )
    services.purchase_order_terminate(
        order=order, user=regional_admin, effective_date=in_days(0), reason="Fermeture du site"
    )
    order.refresh_from_db()
    hospital.refresh_from_db()
    assert order.status == Status.TERMINATED
    assert order.end_date == in_days(0)
    assert hospital.status == "left"
    assert _events(order)[-2:] == ["termination_scheduled", "terminated"]


def test_a_director_terminates_their_order_and_another_establishment_stays(
    price_list, hospital, director, regional_admin
) -> None:
    first = make_active(
        establishment=hospital, director=director, admin=regional_admin, start_date=in_days(0)
    )
    make_active(establishment=hospital, director=director, admin=regional_admin)
    services.purchase_order_terminate(
        order=first, user=director, effective_date=in_days(0), reason="Regroupement"
    )
    hospital.refresh_from_db()
    assert hospital.status == "member"  # another order is still active


def test_a_future_termination_is_applied_when_due(
    price_list, hospital, director, regional_admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    order = make_active(
        establishment=hospital, director=director, admin=regional_admin, start_date=in_days(0)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.purchase_order_terminate(
            order=order, user=director, effective_date=in_days(60), reason="Fin du projet"
        )
    order.refresh_from_db()
    assert (order.status, order.end_date) == (Status.ACTIVE, in_days(60))
    assert establishment_active_offers(establishment=hospital, on=in_days(59)) == {
        "pacs",
        "sharing",
    }
    assert establishment_active_offers(establishment=hospital, on=in_days(60)) == set()
    assert "programmée" in mailoutbox[-1].subject

    assert services.purchase_orders_apply_due_terminations(today=in_days(59)) == 0
    order.refresh_from_db()
    assert order.status == Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        assert services.purchase_orders_apply_due_terminations(today=in_days(60)) == 1
    order.refresh_from_db()
    hospital.refresh_from_db()
    assert order.status == Status.TERMINATED
    assert hospital.status == "left"
    assert "résilié" in mailoutbox[-1].subject
    # Running it again changes nothing.
    assert services.purchase_orders_apply_due_terminations(today=in_days(61)) == 0
    assert _events(order).count("terminated") == 1


@pytest.mark.parametrize("who", ["other_director", "referent", "auditor"])
def test_termination_is_refused_to_others(
    request, price_list, hospital, director, regional_admin, who
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    with pytest.raises(PermissionDenied):
        services.purchase_order_terminate(
            order=order,
            user=request.getfixturevalue(who),
            effective_date=in_days(60),
            reason="Non",
        )


def test_termination_needs_a_reason_and_a_date_after_the_start(
    price_list, hospital, director, regional_admin
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    with pytest.raises(ValidationError) as error:
        services.purchase_order_terminate(
            order=order,
            user=director,
            effective_date=order.start_date - datetime.timedelta(1),
            reason=" ",
        )
    assert set(error.value.message_dict) == {"reason", "effective_date"}


def test_only_an_active_order_is_terminated_once(
    price_list, hospital, director, regional_admin
) -> None:
    signed = make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError):
        services.purchase_order_terminate(
            order=signed, user=regional_admin, effective_date=in_days(40), reason="Non"
        )
    active = make_active(establishment=hospital, director=director, admin=regional_admin)
    services.purchase_order_terminate(
        order=active, user=regional_admin, effective_date=in_days(90), reason="Fin"
    )
    with pytest.raises(ValidationError):
        services.purchase_order_terminate(
            order=active, user=regional_admin, effective_date=in_days(80), reason="Plus tôt"
        )


# --- Amendments and active offers ---------------------------------------------------------------


def test_an_amendment_supersedes_the_order_from_its_start_date(
    price_list, hospital, director, regional_admin
) -> None:
    original = make_active(
        establishment=hospital,
        director=director,
        admin=regional_admin,
        offer_codes=("pacs",),
        start_date=in_days(0),
    )
    amendment = make_draft(
        establishment=hospital,
        director=director,
        offer_codes=("pacs", "archive"),
        start_date=in_days(90),
        amends=original,
    )
    services.purchase_order_sign(order=amendment, user=director, ip_address=None)
    services.purchase_order_countersign(order=amendment, user=regional_admin, ip_address=None)
    original.refresh_from_db()
    assert original.status == Status.SUPERSEDED
    assert original.end_date == in_days(90)
    assert _events(original)[-1] == PurchaseOrderEvent.Kind.SUPERSEDED
    assert establishment_active_offers(establishment=hospital, on=in_days(89)) == {"pacs"}
    assert establishment_active_offers(establishment=hospital, on=in_days(90)) == {
        "pacs",
        "archive",
    }


def test_an_amendment_must_start_after_the_order_and_amend_an_active_one(
    price_list, hospital, director, regional_admin
) -> None:
    signed = make_signed(establishment=hospital, director=director)
    with pytest.raises(ValidationError):
        make_draft(establishment=hospital, director=director, amends=signed)
    active = make_active(establishment=hospital, director=director, admin=regional_admin)
    with pytest.raises(ValidationError):
        make_draft(
            establishment=hospital, director=director, amends=active, start_date=active.start_date
        )


def test_active_offers_come_from_orders_in_force_only(
    price_list, hospital, director, regional_admin
) -> None:
    make_signed(establishment=hospital, director=director, offer_codes=("archive",))
    make_active(
        establishment=hospital,
        director=director,
        admin=regional_admin,
        offer_codes=("sharing",),
        start_date=in_days(10),
    )
    assert establishment_active_offers(establishment=hospital, on=in_days(9)) == set()
    assert establishment_active_offers(establishment=hospital, on=in_days(10)) == {"sharing"}


# --- Records that never change ------------------------------------------------------------------


def test_signatures_documents_and_events_cannot_be_changed_or_deleted(
    price_list, hospital, director
) -> None:
    order = make_signed(establishment=hospital, director=director)
    signature = order.signatures.get()
    document = order.documents.get()
    event = order.events.first()
    signature.ip_address = "203.0.113.1"
    for action in (
        signature.save,
        document.delete,
        event.delete,
        lambda: Signature.objects.filter(order=order).update(ip_address="203.0.113.1"),
        lambda: PurchaseOrderDocument.objects.filter(order=order).delete(),
    ):
        with pytest.raises(ImmutableError):
            action()
    assert Signature.objects.get(order=order).ip_address == "192.0.2.10"
