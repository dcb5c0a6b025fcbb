"""Establishments of the network and the people who act for them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_finess, validate_siret


class Establishment(models.Model):
    """A geographic establishment (FINESS géographique) and the legal entity that owns it."""

    class Kind(models.TextChoices):
        UNIVERSITY_HOSPITAL = "chu", _("Centre hospitalier universitaire ou régional")
        GENERAL_HOSPITAL = "ch", _("Centre hospitalier")
        PRIVATE_CLINIC = "clinic", _("Clinique privée")
        CANCER_CENTRE = "cancer_centre", _("Centre de lutte contre le cancer")
        IMAGING_PRACTICE = "imaging_practice", _("Cabinet d'imagerie")
        CITY_PRACTICE = "city_practice", _("Cabinet de ville")

    class Status(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        MEMBER = "member", _("Membre")
        SUSPENDED = "suspended", _("Suspendu")
        LEFT = "left", _("Sorti du réseau")

    finess_ej = models.CharField(
        _("FINESS juridique"),
        max_length=9,
        blank=True,
        validators=[validate_finess],  # type: ignore[list-item]
    )
    finess_eg = models.CharField(
        _("FINESS géographique"),
        max_length=9,
        unique=True,
        validators=[validate_finess],  # type: ignore[list-item]
    )
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        blank=True,
        validators=[validate_siret],  # type: ignore[list-item]
    )
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("catégorie"), max_length=32, choices=Kind.choices)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True)
    ght = models.CharField(_("GHT"), max_length=200, blank=True)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.PROSPECT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("établissement")
        verbose_name_plural = _("établissements")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user acting for an establishment, as its director, a referent or a staff member."""

    class Role(models.TextChoices):
        DIRECTOR = "director", _("Directeur ou directrice")
        REFERENT = "referent", _("Référent")
        STAFF = "staff", _("Personnel")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rattachement")
        verbose_name_plural = _("rattachements")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "establishment", "role"], name="membership_unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.establishment}"
