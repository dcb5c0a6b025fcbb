"""Establishments of the network and the people who act for them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_finess, validate_siret


class FinessEntry(models.Model):
    """One entry of the national FINESS reference, as imported by ``import_finess``.

    Legal entities (EJ) and geographic establishments (EG) share the table: an EG names its
    EJ in ``finess_ej``; an EJ names itself. Closed entries stay, with their closing date, so
    that a declaration of a closed establishment can be recognised and refused.
    """

    class Level(models.TextChoices):
        LEGAL_ENTITY = "ej", _("Entité juridique")
        SITE = "eg", _("Établissement géographique")

    finess = models.CharField(_("numéro FINESS"), max_length=9, unique=True)
    level = models.CharField(_("niveau"), max_length=2, choices=Level.choices)
    finess_ej = models.CharField(_("FINESS juridique"), max_length=9, blank=True, db_index=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    name = models.CharField(_("raison sociale"), max_length=300)
    short_name = models.CharField(_("nom court"), max_length=100, blank=True)
    legal_entity_name = models.CharField(_("entité juridique"), max_length=300, blank=True)
    category_code = models.CharField(_("catégorie FINESS"), max_length=8, blank=True)
    category_label = models.CharField(_("libellé de catégorie"), max_length=200, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    opened_on = models.DateField(_("ouvert le"), null=True, blank=True)
    closed_on = models.DateField(_("fermé le"), null=True, blank=True)
    source_updated_at = models.DateTimeField(_("mis à jour dans FINESS le"), null=True, blank=True)
    imported_at = models.DateTimeField(_("importé le"), auto_now=True)

    class Meta:
        verbose_name = _("entrée du référentiel FINESS")
        verbose_name_plural = _("référentiel FINESS")
        ordering = ("name",)
        indexes = [models.Index(fields=["postal_code"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.finess} – {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.closed_on is not None


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


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(ended_at__isnull=True)


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
    # A removed member keeps their row, for the history; only rows without an end count.
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("rattachement")
        verbose_name_plural = _("rattachements")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "establishment", "role"],
                condition=models.Q(ended_at__isnull=True),
                name="membership_unique_active_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.establishment}"
