"""The network's activity in figures: daily rollups, funder indicators and generated reports.

Dashboards and reports read ``DailyRollup`` only, never the raw trail: one row per day and
establishment (and one per day for the whole region, ``establishment`` empty), rebuilt by
``reporting.rollups`` (idempotent: rebuilding a day gives the same row).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DailyRollup(models.Model):
    day = models.DateField(_("jour"))
    # Empty: the whole region (its distinct counts are not the sum of the establishments').
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("établissement"),
    )
    studies_produced = models.PositiveIntegerField(_("examens produits"), default=0)
    studies_shared = models.PositiveIntegerField(_("examens partagés"), default=0)
    outside_accesses = models.PositiveIntegerField(_("accès hors établissement"), default=0)
    # Distinct ids, kept so that a period's distinct count is the size of their union.
    practitioner_ids = models.JSONField(_("professionnels ayant consulté"), default=list)
    portal_patient_ids = models.JSONField(_("patients venus sur le portail"), default=list)
    break_glass_uses = models.PositiveIntegerField(_("accès d'urgence"), default=0)
    accreditations_active = models.PositiveIntegerField(_("habilitations en cours"), default=0)
    accreditations_active_hospital = models.PositiveIntegerField(
        _("habilitations en cours (hôpital)"), default=0
    )
    accreditations_active_city = models.PositiveIntegerField(
        _("habilitations en cours (ville)"), default=0
    )
    accreditations_new = models.PositiveIntegerField(_("habilitations nouvelles"), default=0)
    accreditations_expired = models.PositiveIntegerField(_("habilitations échues"), default=0)
    accreditations_revoked = models.PositiveIntegerField(_("habilitations révoquées"), default=0)
    # Offer code → establishments whose order in force includes it (0 or 1 on an
    # establishment's row).
    members_by_offer = models.JSONField(_("membres par offre"), default=dict)
    computed_at = models.DateTimeField(_("calculé le"), default=timezone.now)

    class Meta:
        verbose_name = _("agrégat quotidien")
        verbose_name_plural = _("agrégats quotidiens")
        ordering = ("day", "establishment_id")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "establishment"],
                condition=Q(establishment__isnull=False),
                name="reporting_rollup_day_establishment",
            ),
            models.UniqueConstraint(
                fields=["day"],
                condition=Q(establishment__isnull=True),
                name="reporting_rollup_day_region",
            ),
        ]
        indexes = [models.Index(fields=["establishment", "day"], name="reporting_rollup_est")]

    def __str__(self) -> str:
        return f"{self.day} {self.establishment_id or 'région'}"


class RollupState(models.Model):
    """How far the rollups are complete: every day up to ``complete_until`` is final."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    complete_until = models.DateField(_("complet jusqu'au"), null=True, blank=True)
    updated_at = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("état des agrégats")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="reporting_rollup_state_single")
        ]

    def __str__(self) -> str:
        return str(self.complete_until or "—")


class Indicator(models.Model):
    """A funder's indicator: what it measures, how, and its baseline and target.

    Codes (RCO14, RCR11...) are data, not code: they were not verified against the programme's
    regulation, so administrators enter them as the funder's documents spell them.
    """

    class Computation(models.TextChoices):
        # Computed from the rollups over the report's period (reporting.indicators).
        ESTABLISHMENTS_CONNECTED = (
            "establishments_connected",
            _("Établissements raccordés (toutes offres)"),
        )
        ESTABLISHMENTS_SHARING = (
            "establishments_sharing",
            _("Établissements raccordés au partage d'images"),
        )
        STUDIES_PRODUCED = "studies_produced", _("Examens produits par les membres")
        STUDIES_SHARED = "studies_shared", _("Examens partagés hors établissement producteur")
        OUTSIDE_ACCESSES = (
            "outside_accesses",
            _("Consultations par des professionnels extérieurs à l'établissement producteur"),
        )
        PRACTITIONERS_ACCREDITED = "practitioners_accredited", _("Professionnels habilités")
        PRACTITIONERS_ACCREDITED_HOSPITAL = (
            "practitioners_accredited_hospital",
            _("Professionnels habilités (hôpital)"),
        )
        PRACTITIONERS_ACCREDITED_CITY = (
            "practitioners_accredited_city",
            _("Professionnels habilités (ville)"),
        )
        PRACTITIONERS_ACCESSING = (
            "practitioners_accessing",
            _("Professionnels ayant consulté des images"),
        )
        PORTAL_PATIENTS = "portal_patients", _("Patients ayant utilisé le portail")
        BREAK_GLASS = "break_glass", _("Accès d'urgence (bris de glace)")
        REGIONAL_VOLUME_SHARE = (
            "regional_volume_share",
            _("Part du volume régional d'imagerie (valeur saisie du volume régional)"),
        )
        MANUAL = "manual", _("Valeur saisie (par exemple budget dépensé)")

    code = models.CharField(_("code"), max_length=32, unique=True)
    label = models.CharField(_("libellé"), max_length=300)
    unit = models.CharField(_("unité"), max_length=50)
    programme = models.CharField(_("programme"), max_length=100, default="FEDER 2021-2027")
    computation = models.CharField(_("calcul"), max_length=40, choices=Computation.choices)
    baseline = models.DecimalField(
        _("valeur de référence"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    target = models.DecimalField(_("cible"), max_digits=14, decimal_places=2)
    target_date = models.DateField(_("échéance de la cible"), null=True, blank=True)
    method_note = models.TextField(_("note de méthode"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    active = models.BooleanField(_("suivi"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("indicateur")
        verbose_name_plural = _("indicateurs")
        ordering = ("position", "code")

    def __str__(self) -> str:
        return f"{self.code} – {self.label}"


class IndicatorMilestone(models.Model):
    """An intermediate value the funder expects by a date."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="milestones")
    due_date = models.DateField(_("échéance"))
    value = models.DecimalField(_("valeur attendue"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("jalon")
        verbose_name_plural = _("jalons")
        ordering = ("due_date",)
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "due_date"], name="reporting_milestone_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.due_date}: {self.value}"


class ManualValue(models.Model):
    """A value an administrator enters for a period (a manual indicator, or the region's total
    imaging volume that a share is computed against), with its justification. A new entry for
    the same period replaces the previous one in reports; both stay recorded."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="manual_values")
    period_start = models.DateField(_("début de période"))
    period_end = models.DateField(_("fin de période"))
    value = models.DecimalField(_("valeur"), max_digits=14, decimal_places=2)
    # For a "planned versus spent" budget line, the planned amount beside the spent value.
    planned = models.DecimalField(
        _("valeur prévue"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    justification = models.TextField(_("justification"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("saisie par"),
    )
    entered_at = models.DateTimeField(_("saisie le"), default=timezone.now)

    class Meta:
        verbose_name = _("valeur saisie")
        verbose_name_plural = _("valeurs saisies")
        ordering = ("-period_start", "-entered_at")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="reporting_manual_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.period_start}–{self.period_end}: {self.value}"


class FunderReport(models.Model):
    """A generated funder report: the parameters that made it, its file and SHA-256."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")

    period = models.CharField(_("période"), max_length=32)
    period_start = models.DateField(_("début"))
    period_end = models.DateField(_("fin"))
    parameters = models.JSONField(_("paramètres"), default=dict)
    status = models.CharField(
        _("état"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    progress_label = models.CharField(_("étape"), max_length=200, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    file = models.FileField(_("fichier"), upload_to="reports/funder/", blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveIntegerField(_("taille (octets)"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("demandé par"),
    )
    created_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("rapport financeur")
        verbose_name_plural = _("rapports financeurs")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.period} ({self.get_status_display()})"
