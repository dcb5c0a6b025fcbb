"""Health professionals and their accreditation to the network."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_adeli, validate_rpps


class Practitioner(models.Model):
    """A health professional, known by RPPS (or ADELI for professions outside RPPS)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner",
    )
    rpps = models.CharField(
        _("RPPS"),
        max_length=11,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_rpps],  # type: ignore[list-item]
    )
    adeli = models.CharField(
        _("ADELI"),
        max_length=9,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_adeli],  # type: ignore[list-item]
    )
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    profession_code = models.CharField(_("profession (code TRE_G15)"), max_length=4)
    specialty_code = models.CharField(_("spécialité (code TRE_R38)"), max_length=8, blank=True)
    email = models.EmailField(_("e-mail professionnel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=32, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("professionnel de santé")
        verbose_name_plural = _("professionnels de santé")
        ordering = ("last_name", "first_name")
        constraints = [
            models.CheckConstraint(
                condition=Q(rpps__isnull=False) | Q(adeli__isnull=False),
                name="practitioner_has_identifier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def idnps(self) -> str:
        """National professional id: "8" + RPPS, or "0" + ADELI."""
        return f"8{self.rpps}" if self.rpps else f"0{self.adeli}"


class PracticeSite(models.Model):
    """Where a practitioner practises: a member establishment, or a city practice.

    An active site at an establishment puts the practitioner in that establishment's care team.
    Phones and department come from the establishment's telephony directory when it has one;
    a practitioner who disappears from it is suspended on that site until the referent decides.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspendue")
        ENDED = "ended", _("Terminée")

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="practice_sites"
    )
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="practice_sites",
    )
    # A city practice (no establishment): its name and address.
    practice_name = models.CharField(_("nom du cabinet"), max_length=200, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("motif"), max_length=300, blank=True)
    # From the telephony directory.
    phone = models.CharField(_("poste"), max_length=32, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    department = models.CharField(_("service"), max_length=200, blank=True)
    directory_dn = models.CharField(_("entrée d'annuaire"), max_length=500, blank=True)
    directory_seen_at = models.DateTimeField(_("vu dans l'annuaire le"), null=True, blank=True)
    is_leaver = models.BooleanField(_("absent de l'annuaire"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lieu d'exercice")
        verbose_name_plural = _("lieux d'exercice")
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "establishment"],
                condition=Q(establishment__isnull=False) & ~Q(status="ended"),
                name="practice_site_unique_establishment",
            ),
            models.CheckConstraint(
                condition=Q(establishment__isnull=False) | ~Q(practice_name=""),
                name="practice_site_establishment_or_city_practice",
            ),
        ]

    def __str__(self) -> str:
        return str(self.establishment) if self.establishment_id else self.practice_name


class AccreditationQuerySet(models.QuerySet["Accreditation"]):
    def active(self, on: datetime.date | None = None) -> AccreditationQuerySet:
        """Accreditations in force on ``on`` (today by default)."""
        day = on or timezone.localdate()
        return self.filter(
            status=Accreditation.Status.ACTIVE, valid_from__lte=day, valid_until__gte=day
        )


class Accreditation(models.Model):
    """The network's permission for a practitioner to see patients' imaging, for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspendue")
        REVOKED = "revoked", _("Révoquée")
        EXPIRED = "expired", _("Expirée")

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="accreditations"
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccreditationQuerySet.as_manager()

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ("-valid_until",)
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="accreditation_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} ({self.get_status_display()} → {self.valid_until})"


__all__ = ["Accreditation", "AccreditationQuerySet", "PracticeSite", "Practitioner"]
