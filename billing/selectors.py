"""Reads on offers, price lists and purchase orders."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import pricing
from billing.models import (
    Offer,
    OfferPrice,
    PriceBand,
    PriceList,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderEvent,
    PurchaseOrderLine,
)
from billing.permissions import can_view_order
from establishments.models import Establishment, Membership
from establishments.selectors import directed_establishments
from portal.roles import Role, is_regional_admin

if TYPE_CHECKING:
    from portal.models import User

# Statuses of orders that were countersigned: the ones that are or were in force.
COUNTERSIGNED_STATUSES = (
    PurchaseOrder.Status.ACTIVE,
    PurchaseOrder.Status.TERMINATED,
    PurchaseOrder.Status.SUPERSEDED,
)


# --- Catalogue ---------------------------------------------------------------------------------


def offers_all() -> QuerySet[Offer]:
    """Every offer, in display order."""
    return Offer.objects.order_by("position", "code")


def offers_active() -> QuerySet[Offer]:
    """Offers proposed in new orders."""
    return offers_all().filter(active=True)


def price_lists_overview() -> QuerySet[PriceList]:
    """Every price list, newest first, with how many orders and signed orders use it."""
    return (
        PriceList.objects.select_related("created_by")
        .annotate(
            order_count=Count("orders", distinct=True),
            signed_order_count=Count(
                "orders", filter=Q(orders__signed_at__isnull=False), distinct=True
            ),
        )
        .order_by("-valid_from")
    )


def price_lists_with_prices() -> QuerySet[PriceList]:
    """Price lists, newest first, with their offer prices and bands loaded."""
    return (
        PriceList.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("offer_prices", queryset=_offer_prices()),
            Prefetch("bands", queryset=_bands()),
        )
        .order_by("-valid_from")
    )


def price_list_with_prices(*, pk: int) -> PriceList | None:
    """A price list with its offer prices and bands loaded, or None."""
    return price_lists_with_prices().filter(pk=pk).first()


def _offer_prices() -> QuerySet[OfferPrice]:
    return OfferPrice.objects.select_related("offer").order_by("offer__position", "offer__code")


def _bands() -> QuerySet[PriceBand]:
    return PriceBand.objects.select_related("offer").order_by(
        "offer__position", "offer__code", "min_volume"
    )


def price_list_valid_on(*, day: datetime.date) -> PriceList | None:
    """The price list in force on ``day`` (validity bounds included), if any."""
    return (
        PriceList.objects.filter(valid_from__lte=day)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .order_by("-valid_from")
        .first()
    )


def price_lists_overlapping(
    *,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    exclude_pk: int | None = None,
) -> QuerySet[PriceList]:
    """Price lists whose period shares at least one day with ``valid_from``–``valid_until``."""
    queryset = PriceList.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from)
    )
    if valid_until is not None:
        queryset = queryset.filter(valid_from__lte=valid_until)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.order_by("valid_from")


def price_list_is_locked(*, price_list: PriceList) -> bool:
    """A price list that a signed order references can no longer change its prices."""
    return price_list.orders.filter(signed_at__isnull=False).exists()


def price_list_latest_signed_start(*, price_list: PriceList) -> datetime.date | None:
    """The latest start date among the signed orders priced by ``price_list``."""
    latest = (
        price_list.orders.filter(signed_at__isnull=False)
        .order_by("-start_date")
        .values_list("start_date", flat=True)
        .first()
    )
    return latest


def price_list_tariffs(*, price_list: PriceList) -> dict[str, pricing.OfferTariff]:
    """The tariff of each offer ``price_list`` prices, keyed by offer code (two queries)."""
    bands: dict[int, list[pricing.Band]] = {}
    for band in price_list.bands.order_by("min_volume"):
        bands.setdefault(band.offer_id, []).append(
            pricing.Band(band.min_volume, band.max_volume, band.price_per_study)
        )
    return {
        price.offer.code: pricing.OfferTariff(
            offer_code=price.offer.code,
            offer_name=price.offer.name,
            annual_fee=price.annual_fee,
            bands=tuple(bands.get(price.offer_id, ())),
        )
        for price in price_list.offer_prices.select_related("offer")
    }


@dataclass(frozen=True)
class OrderQuote:
    """An estimate with the price list it comes from, or why there is none."""

    price_list: PriceList | None
    estimate: pricing.Estimate | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.estimate is not None and not self.error


def order_quote(*, offer_codes: list[str], volume: int, start_date: datetime.date) -> OrderQuote:
    """Price ``offer_codes`` at ``volume`` studies a year with the list in force on
    ``start_date``. Never raises: a missing list or an unpriced offer comes back as ``error``.
    """
    price_list = price_list_valid_on(day=start_date)
    if price_list is None:
        return OrderQuote(
            None,
            None,
            _("Aucune grille tarifaire n'est en vigueur au %(date)s.")
            % {"date": start_date.strftime("%d/%m/%Y")},
        )
    tariffs = price_list_tariffs(price_list=price_list)
    try:
        result = pricing.estimate(tariffs=tariffs, offer_codes=offer_codes, volume=volume)
    except pricing.PricingError as error:
        return OrderQuote(price_list, None, str(error))
    if result.unpriced:
        names = dict(Offer.objects.filter(code__in=result.unpriced).values_list("code", "name"))
        return OrderQuote(
            price_list,
            result,
            _("La grille « %(label)s » ne tarife pas : %(offers)s.")
            % {
                "label": price_list.label,
                "offers": ", ".join(names.get(code, code) for code in result.unpriced),
            },
        )
    return OrderQuote(price_list, result)


# --- Purchase orders ---------------------------------------------------------------------------


def _orders() -> QuerySet[PurchaseOrder]:
    return (
        PurchaseOrder.objects.select_related("establishment", "price_list", "amends")
        .annotate(
            total_amount=Coalesce(
                Sum("lines__amount"),
                Value(Decimal("0.00")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            )
        )
        .order_by("-created_at")
    )


def purchase_orders_visible_to(*, user: Any) -> QuerySet[PurchaseOrder]:
    """Every order for regional administrators; their establishments' for directors;
    nothing for anyone else."""
    if is_regional_admin(user):
        return _orders()
    if not getattr(user, "is_authenticated", False):
        return PurchaseOrder.objects.none()
    return _orders().filter(establishment__in=directed_establishments(user=user))


def purchase_orders_filtered(
    *, user: Any, status: str = "", establishment_id: int | None = None
) -> QuerySet[PurchaseOrder]:
    """``purchase_orders_visible_to`` narrowed by status and establishment."""
    queryset = purchase_orders_visible_to(user=user)
    if status:
        queryset = queryset.filter(status=status)
    if establishment_id:
        queryset = queryset.filter(establishment_id=establishment_id)
    return queryset


def purchase_orders_awaiting_countersignature() -> QuerySet[PurchaseOrder]:
    """Signed orders waiting for a regional administrator, oldest signature first."""
    return _orders().filter(status=PurchaseOrder.Status.SIGNED).order_by("signed_at")


def purchase_order_for(*, user: Any, pk: int) -> PurchaseOrder | None:
    """The order ``pk`` with everything its page shows, or None when ``user`` is not a party
    (the caller answers 404: non-parties must not learn that the order exists)."""
    order = (
        PurchaseOrder.objects.select_related("establishment", "price_list", "amends", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("offer")),
            "signatures",
            "documents",
            Prefetch("events", queryset=_events()),
            "amendments",
        )
        .filter(pk=pk)
        .first()
    )
    if order is None or not can_view_order(user, order):
        return None
    return order


def _events() -> QuerySet[PurchaseOrderEvent]:
    return PurchaseOrderEvent.objects.select_related("by").order_by("at", "pk")


def purchase_order_total(*, order: PurchaseOrder) -> Decimal:
    """Sum of the order's stored line amounts (frozen once signed)."""
    return pricing.money(sum((line.amount for line in order.lines.all()), Decimal("0.00")))


def purchase_order_document_latest(*, order: PurchaseOrder) -> PurchaseOrderDocument | None:
    """The countersigned document when there is one, else the signed one."""
    documents = {document.kind: document for document in order.documents.all()}
    return documents.get(PurchaseOrderDocument.Kind.COUNTERSIGNED) or documents.get(
        PurchaseOrderDocument.Kind.SIGNED
    )


def purchase_order_document_verify(*, document: PurchaseOrderDocument) -> bool:
    """Whether the stored file and its canonical content still match their recorded hashes."""
    digest = hashlib.sha256()
    with document.file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    content = hashlib.sha256(document.content_json.encode("utf-8")).hexdigest()
    return digest.hexdigest() == document.sha256 and content == document.content_sha256


def orders_in_force(*, establishment: Establishment, on: datetime.date) -> QuerySet[PurchaseOrder]:
    """Countersigned orders of ``establishment`` that apply on ``on``."""
    return PurchaseOrder.objects.filter(
        establishment=establishment,
        status__in=COUNTERSIGNED_STATUSES,
        start_date__lte=on,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gt=on))


def establishment_active_offers(
    *, establishment: Establishment, on: datetime.date | None = None
) -> set[str]:
    """Codes of the offers ``establishment`` subscribes to on ``on`` (today by default),
    through its orders in force."""
    day = on or timezone.localdate()
    return set(
        PurchaseOrderLine.objects.filter(
            order__in=orders_in_force(establishment=establishment, on=day)
        ).values_list("offer__code", flat=True)
    )


def establishment_has_active_order(
    *, establishment: Establishment, excluding: PurchaseOrder | None = None
) -> bool:
    """Whether an order of ``establishment`` still has the status "active"."""
    queryset = PurchaseOrder.objects.filter(
        establishment=establishment, status=PurchaseOrder.Status.ACTIVE
    )
    if excluding is not None:
        queryset = queryset.exclude(pk=excluding.pk)
    return queryset.exists()


# --- People to tell ----------------------------------------------------------------------------


def regional_admin_emails() -> list[str]:
    """Addresses of the active regional administrators."""
    user_model = get_user_model()
    return list(
        user_model.objects.filter(groups__name=Role.REGIONAL_ADMIN.value, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def establishment_director_emails(*, establishment: Establishment) -> list[str]:
    """Addresses of the establishment's current directors."""
    return list(
        Membership.objects.active()
        .filter(
            establishment=establishment,
            role=Membership.Role.DIRECTOR,
            user__is_active=True,
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
        .distinct()
    )


def establishments_directed_by(*, user: User) -> QuerySet[Establishment]:
    """Establishments ``user`` may build orders for."""
    return directed_establishments(user=user).order_by("name")
