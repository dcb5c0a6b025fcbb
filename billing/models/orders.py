"""Purchase orders (bons de commande), their signatures, documents and history.

Life of an order::

    draft ──sign (director)──▶ signed ──countersign (regional admin)──▶ active
                                  └──reject (regional admin, reason)──▶ rejected
    active ──terminate (date, reason)──▶ terminated   (at once, or when the date comes)
    active ──an amendment becomes active──▶ superseded

An order is *in force* on a day when it was countersigned, has started and has not ended:
``start_date <= day < end_date`` (no ``end_date``: open-ended). ``end_date`` is the first day
without service; termination and supersession both set it. A superseded order therefore stays
in force until its amendment starts, even though its status changes on countersignature.

Signed documents, signatures and events are append-only: their rows refuse updates and
deletions, and generated files are stored under new names, never overwritten.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.catalogue import Offer, PriceList
from establishments.models import Establishment

__all__ = [
    "OrderNumberCounter",
    "PurchaseOrder",
    "PurchaseOrderDocument",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "Signature",
]


class ImmutableError(Exception):
    """Raised on an attempt to change or delete a record that the law wants kept as is."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableError("append-only records cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError("append-only records cannot be deleted")


class AppendOnlyModel(models.Model):
    """Rows written once: ``save`` only inserts, ``delete`` refuses."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} rows cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableError(f"{type(self).__name__} rows cannot be deleted")


class OrderNumberCounter(models.Model):
    """Last order number given in a year; its row is locked while a number is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de numéros de bons de commande")
        verbose_name_plural = _("compteurs de numéros de bons de commande")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class PurchaseOrder(models.Model):
    """An establishment's order for one or more offers, signed then countersigned."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SIGNED = "signed", _("Signé, en attente de contresignature")
        ACTIVE = "active", _("En vigueur")
        REJECTED = "rejected", _("Refusé")
        TERMINATED = "terminated", _("Résilié")
        SUPERSEDED = "superseded", _("Remplacé par un avenant")

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        verbose_name=_("établissement"),
    )
    number = models.CharField(
        _("numéro"), max_length=16, unique=True, null=True, blank=True, editable=False
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    estimated_yearly_volume = models.PositiveIntegerField(
        _("volume annuel estimé (examens)"), validators=[MinValueValidator(1)]
    )
    start_date = models.DateField(_("date de début"))
    price_list = models.ForeignKey(
        PriceList,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("grille tarifaire"),
    )
    amends = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendments",
        verbose_name=_("avenant au bon"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("créé par"),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    signed_at = models.DateTimeField(_("signé le"), null=True, blank=True)
    countersigned_at = models.DateTimeField(_("contresigné le"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("refusé le"), null=True, blank=True)
    rejection_reason = models.TextField(_("motif du refus"), blank=True)
    end_date = models.DateField(
        _("fin d'effet"),
        null=True,
        blank=True,
        help_text=_("Premier jour sans service (résiliation ou remplacement par un avenant)."),
    )
    termination_reason = models.TextField(_("motif de la résiliation"), blank=True)
    termination_requested_at = models.DateTimeField(
        _("résiliation demandée le"), null=True, blank=True
    )
    terminated_at = models.DateTimeField(_("résilié le"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("remplacé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("bon de commande")
        verbose_name_plural = _("bons de commande")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["status", "establishment"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_yearly_volume__gte=1),
                name="billing_order_volume_positive",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, signed_at__isnull=False),
                name="billing_order_signed_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["active", "terminated", "superseded"])
                | Q(countersigned_at__isnull=False),
                name="billing_order_active_is_countersigned",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="billing_order_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="billing_order_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("Brouillon n°%(pk)s") % {"pk": self.pk})

    @property
    def is_amendment(self) -> bool:
        return self.amends_id is not None


class PurchaseOrderLine(models.Model):
    """One offer of an order, with the prices that applied.

    While the order is a draft the line is recomputed at every save from the price list in
    force on the start date; at signature its prices and amount are frozen for good.
    """

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    annual_fee = models.DecimalField(
        _("forfait annuel (€ HT)"),
        max_digits=12,
        decimal_places=2,
    )
    price_per_study = models.DecimalField(
        _("prix par examen (€ HT)"),
        max_digits=12,
        decimal_places=2,
    )
    estimated_volume = models.PositiveIntegerField(_("volume annuel estimé"))
    amount = models.DecimalField(
        _("montant annuel estimé (€ HT)"),
        max_digits=12,
        decimal_places=2,
    )

    class Meta:
        verbose_name = _("ligne de bon de commande")
        verbose_name_plural = _("lignes de bon de commande")
        ordering = ("offer__position", "offer__code")
        constraints = [
            models.UniqueConstraint(fields=["order", "offer"], name="billing_line_one_per_offer"),
        ]

    def __str__(self) -> str:
        return f"{self.order} – {self.offer}"


class Signature(AppendOnlyModel):
    """Who signed an order in which capacity, when, from where, and the document they signed.

    The signer's name and e-mail are copied so that the record stays what was signed even if
    the account changes later.
    """

    class Role(models.TextChoices):
        DIRECTOR = "director", _("Direction de l'établissement")
        REGIONAL_ADMIN = "regional_admin", _("Administration régionale (contresignature)")

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="signatures")
    role = models.CharField(_("qualité"), max_length=16, choices=Role.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(_("signataire"), max_length=300)
    signer_email = models.EmailField(_("e-mail du signataire"))
    signed_at = models.DateTimeField(_("signé le"))
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    document_sha256 = models.CharField(_("empreinte SHA-256 du document signé"), max_length=64)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ("signed_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["order", "role"], name="billing_signature_one_per_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} – {self.get_role_display()} – {self.signer_name}"


class PurchaseOrderDocument(AppendOnlyModel):
    """A generated PDF of an order: "signed" after the director, "countersigned" final.

    ``sha256`` is the hash of the file itself; ``content_sha256`` the hash of
    ``content_json``, the canonical data the PDF shows and prints in its footer (billing.pdf).
    """

    class Kind(models.TextChoices):
        SIGNED = "signed", _("Signé par l'établissement")
        COUNTERSIGNED = "countersigned", _("Contresigné (définitif)")

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("nature"), max_length=16, choices=Kind.choices)
    file = models.FileField(_("fichier"), upload_to="billing/purchase-orders/%Y/", max_length=255)
    sha256 = models.CharField(_("empreinte SHA-256 du fichier"), max_length=64)
    content_json = models.TextField(_("contenu canonique"))
    content_sha256 = models.CharField(_("empreinte SHA-256 du contenu"), max_length=64)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("document de bon de commande")
        verbose_name_plural = _("documents de bon de commande")
        ordering = ("created_at",)
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="billing_document_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.order} – {self.get_kind_display()}"


class PurchaseOrderEvent(AppendOnlyModel):
    """One step of an order's history, shown on its page."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Brouillon créé")
        UPDATED = "updated", _("Brouillon modifié")
        SIGNED = "signed", _("Signé par la direction")
        COUNTERSIGNED = "countersigned", _("Contresigné, en vigueur")
        REJECTED = "rejected", _("Refusé")
        TERMINATION_SCHEDULED = "termination_scheduled", _("Résiliation programmée")
        TERMINATED = "terminated", _("Résilié")
        SUPERSEDED = "superseded", _("Remplacé par un avenant")

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("événement"), max_length=24, choices=Kind.choices)
    at = models.DateTimeField(_("date"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("événement de bon de commande")
        verbose_name_plural = _("historique des bons de commande")
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.order} – {self.get_kind_display()}"
