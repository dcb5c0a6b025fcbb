"""Who may see a patient's imaging beyond the care team: grants, the patient's opposition, and
emergency ("break-the-glass") accesses. ``access.decision.decide`` reads them all in one query.

Grants live in this table rather than in django-guardian's object permissions: a grant has a
validity period, a reason and a revocation, and its history must be kept (README, "Accès").
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessGrantQuerySet(models.QuerySet["AccessGrant"]):
    def active(self, at: datetime.datetime | None = None) -> AccessGrantQuerySet:
        """Grants in force at ``at`` (now by default): started, not ended, not revoked."""
        moment = at or timezone.now()
        return self.filter(revoked_at__isnull=True, valid_from__lte=moment, valid_until__gt=moment)


class AccessGrant(models.Model):
    """A practitioner may see a patient's imaging, for a period, for a reason."""

    class Reason(models.TextChoices):
        REFERRAL = "referral", _("Adressage")
        CARE_TEAM_EXTENSION = "care_team_extension", _("Extension de l'équipe de soins")
        PATIENT_CHOICE = "patient_choice", _("Choix du patient")

    practitioner = models.ForeignKey(
        "practitioners.Practitioner",
        on_delete=models.PROTECT,
        related_name="access_grants",
        verbose_name=_("professionnel"),
    )
    patient = models.ForeignKey(
        "imaging.Patient",
        on_delete=models.PROTECT,
        related_name="access_grants",
        verbose_name=_("patient"),
    )
    reason = models.CharField(_("motif"), max_length=24, choices=Reason.choices)
    comment = models.TextField(_("commentaire"), blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("accordée par"),
    )
    # The producing establishment on whose behalf staff shared; empty for a patient's choice.
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("établissement"),
    )
    valid_from = models.DateTimeField(_("valable à partir du"), default=timezone.now)
    valid_until = models.DateTimeField(_("valable jusqu'au"))
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("révoquée par"),
    )
    revocation_reason = models.CharField(_("motif de la révocation"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = AccessGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("autorisation d'accès")
        verbose_name_plural = _("autorisations d'accès")
        ordering = ("-valid_from", "-id")
        indexes = [
            models.Index(fields=["patient", "practitioner"], name="access_grant_pair"),
            models.Index(fields=["practitioner", "valid_until"], name="access_grant_practitioner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")),
                name="access_grant_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} → {self.patient_id} ({self.get_reason_display()})"

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        moment = at or timezone.now()
        return self.revoked_at is None and self.valid_from <= moment < self.valid_until


class OppositionQuerySet(models.QuerySet["Opposition"]):
    def active(self) -> OppositionQuerySet:
        return self.filter(withdrawn_at__isnull=True)


class Opposition(models.Model):
    """The patient opposes sharing beyond the producing establishments' care teams."""

    class Source(models.TextChoices):
        PATIENT = "patient", _("Le patient, sur le portail")
        REFERENT = "referent", _("Un référent, à la demande du patient")

    patient = models.ForeignKey(
        "imaging.Patient",
        on_delete=models.PROTECT,
        related_name="oppositions",
        verbose_name=_("patient"),
    )
    source = models.CharField(_("recueillie par"), max_length=16, choices=Source.choices)
    comment = models.TextField(_("commentaire"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("enregistrée par"),
    )
    recorded_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("retirée le"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("retirée par"),
    )
    withdrawal_comment = models.TextField(_("commentaire du retrait"), blank=True)

    objects = OppositionQuerySet.as_manager()

    class Meta:
        verbose_name = _("opposition au partage")
        verbose_name_plural = _("oppositions au partage")
        ordering = ("-recorded_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(withdrawn_at__isnull=True),
                name="access_one_active_opposition",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} ({self.recorded_at:%Y-%m-%d})"


class BreakGlassQuerySet(models.QuerySet["BreakGlassAccess"]):
    def active(self, at: datetime.datetime | None = None) -> BreakGlassQuerySet:
        moment = at or timezone.now()
        return self.filter(opened_at__lte=moment, expires_at__gt=moment)


class BreakGlassAccess(models.Model):
    """An emergency access a practitioner opened without a right, justified, time-limited,
    reviewed afterwards by an auditor and announced to the patient."""

    class Category(models.TextChoices):
        LIFE_THREATENING = "life_threatening", _("Urgence vitale")
        UNCONSCIOUS = "unconscious", _("Patient hors d'état d'exprimer sa volonté")
        URGENT_CONTINUITY = "urgent_continuity", _("Continuité des soins urgente")
        OTHER = "other", _("Autre urgence")

    class Review(models.TextChoices):
        PENDING = "pending", _("À examiner")
        JUSTIFIED = "justified", _("Justifié")
        UNJUSTIFIED = "unjustified", _("Non justifié")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="break_glass_accesses",
        verbose_name=_("utilisateur"),
    )
    practitioner = models.ForeignKey(
        "practitioners.Practitioner",
        on_delete=models.PROTECT,
        related_name="break_glass_accesses",
        verbose_name=_("professionnel"),
    )
    patient = models.ForeignKey(
        "imaging.Patient",
        on_delete=models.PROTECT,
        related_name="break_glass_accesses",
        verbose_name=_("patient"),
    )
    category = models.CharField(_("type d'urgence"), max_length=24, choices=Category.choices)
    justification = models.TextField(_("justification"))
    opened_at = models.DateTimeField(_("ouvert le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    source_ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    review = models.CharField(
        _("examen"), max_length=16, choices=Review.choices, default=Review.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("examiné par"),
    )
    reviewed_at = models.DateTimeField(_("examiné le"), null=True, blank=True)
    review_comment = models.TextField(_("commentaire de l'auditeur"), blank=True)
    # The patient portal announces the access until the patient acknowledges it.
    patient_acknowledged_at = models.DateTimeField(_("vu par le patient le"), null=True, blank=True)

    objects = BreakGlassQuerySet.as_manager()

    class Meta:
        verbose_name = _("accès d'urgence")
        verbose_name_plural = _("accès d'urgence")
        ordering = ("-opened_at", "-id")
        indexes = [
            models.Index(fields=["user", "patient", "expires_at"], name="access_btg_pair"),
            models.Index(fields=["review", "opened_at"], name="access_btg_review"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("opened_at")),
                name="access_btg_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} → {self.patient_id} ({self.opened_at:%Y-%m-%d %H:%M})"

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        moment = at or timezone.now()
        return self.opened_at <= moment < self.expires_at


from access.activation_models import PatientAccessCode  # noqa: E402, F401
from access.token_models import ViewerToken  # noqa: E402, F401
