"""What the network sells and at which price: offers and versioned price lists.

A price list is a version with a validity period (both ends inclusive, no end = open-ended);
periods never overlap, so exactly one list, or none, applies on a given day. Each list gives,
per offer, an annual fee and per-study prices by bands of yearly volume (see billing.pricing).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.constraints import DateRange, PostgresExclusionConstraint

__all__ = ["Offer", "OfferPrice", "PriceBand", "PriceList"]


class Offer(models.Model):
    """One of the platform's services an establishment subscribes to."""

    class Code(models.TextChoices):
        PACS = "pacs", _("PACS")
        ARCHIVE = "archive", _("Archivage")
        SHARING = "sharing", _("Partage d'images")

    code = models.CharField(_("code"), max_length=16, choices=Code.choices, unique=True)
    name = models.CharField(_("nom"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(
        _("proposée"),
        default=True,
        help_text=_("Une offre retirée n'est plus proposée dans les nouveaux bons de commande."),
    )
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        verbose_name = _("offre")
        verbose_name_plural = _("offres")
        ordering = ("position", "code")

    def __str__(self) -> str:
        return self.name


class PriceList(models.Model):
    """A version of the prices, valid from ``valid_from`` to ``valid_until`` included."""

    label = models.CharField(_("libellé"), max_length=200)
    valid_from = models.DateField(_("en vigueur à partir du"))
    valid_until = models.DateField(
        _("en vigueur jusqu'au (inclus)"),
        null=True,
        blank=True,
        help_text=_("Laisser vide pour une grille sans date de fin."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créée par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("grille tarifaire")
        verbose_name_plural = _("grilles tarifaires")
        ordering = ("-valid_from",)
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="billing_pricelist_period_ordered",
                violation_error_message=_("La fin de validité précède son début."),
            ),
            PostgresExclusionConstraint(
                name="billing_pricelist_no_overlap",
                expressions=[
                    (
                        DateRange(
                            "valid_from",
                            "valid_until",
                            RangeBoundary(inclusive_lower=True, inclusive_upper=True),
                        ),
                        RangeOperators.OVERLAPS,
                    )
                ],
                violation_error_message=_(
                    "Cette période chevauche celle d'une autre grille tarifaire."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.label


class OfferPrice(models.Model):
    """The annual fee of an offer in a price list (its presence means the list prices it)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="offer_prices")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    annual_fee = models.DecimalField(
        _("forfait annuel (€ HT)"),
        validators=[MinValueValidator(0)],
        max_digits=12,
        decimal_places=2,
    )

    class Meta:
        verbose_name = _("forfait d'une offre")
        verbose_name_plural = _("forfaits des offres")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "offer"], name="billing_offerprice_one_per_offer"
            ),
            models.CheckConstraint(
                condition=Q(annual_fee__gte=0), name="billing_offerprice_fee_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list} – {self.offer}"


class PriceBand(models.Model):
    """A per-study price for yearly volumes from ``min_volume`` to ``max_volume`` included.

    The bands of one offer in one list start at 0, follow each other without gap nor overlap
    and the last one has no upper bound: the service checks it (billing.pricing.band_errors).
    """

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="bands")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    min_volume = models.PositiveIntegerField(_("à partir de (examens par an)"))
    max_volume = models.PositiveIntegerField(
        _("jusqu'à (inclus)"), null=True, blank=True, help_text=_("Vide : sans limite.")
    )
    price_per_study = models.DecimalField(
        _("prix par examen (€ HT)"),
        validators=[MinValueValidator(0)],
        max_digits=12,
        decimal_places=2,
    )

    class Meta:
        verbose_name = _("tranche de volume")
        verbose_name_plural = _("tranches de volume")
        ordering = ("offer__position", "min_volume")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "offer", "min_volume"], name="billing_priceband_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(max_volume__isnull=True) | Q(max_volume__gte=F("min_volume")),
                name="billing_priceband_bounds_ordered",
            ),
            models.CheckConstraint(
                condition=Q(price_per_study__gte=0), name="billing_priceband_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        upper = self.max_volume if self.max_volume is not None else "∞"
        return f"{self.offer} {self.min_volume}–{upper}"
