"""Access codes: how a patient's account is tied to their record.

Imported by ``access.models`` so that Django registers the model with the access app.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PatientAccessCodeQuerySet(models.QuerySet["PatientAccessCode"]):
    def pending(self, at: datetime.datetime | None = None) -> PatientAccessCodeQuerySet:
        """Codes that may still be redeemed at ``at``: not used, cancelled, locked or expired."""
        return self.filter(
            used_at__isnull=True,
            cancelled_at__isnull=True,
            locked_at__isnull=True,
            expires_at__gt=at or timezone.now(),
        )


class PatientAccessCode(models.Model):
    """A single-use code that staff of an establishment hand a patient on a printed sheet.

    With it and their birth date the patient ties their account to their record. Only a keyed
    hash of the code is kept; the code itself is printed once and never stored.
    """

    patient = models.ForeignKey(
        "imaging.Patient",
        on_delete=models.PROTECT,
        related_name="access_codes",
        verbose_name=_("patient"),
    )
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("établissement"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("remis par"),
    )
    code_hash = models.CharField(_("empreinte du code"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("remis le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    failed_attempts = models.PositiveSmallIntegerField(_("essais manqués"), default=0)
    locked_at = models.DateTimeField(_("bloqué le"), null=True, blank=True)
    # A newer code for the same patient cancels this one.
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("utilisé par"),
    )

    objects = PatientAccessCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("code d'accès patient")
        verbose_name_plural = _("codes d'accès patient")
        ordering = ("-issued_at", "-id")
        indexes = [models.Index(fields=["patient", "issued_at"], name="access_code_patient")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("issued_at")),
                name="access_code_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} ({self.issued_at:%Y-%m-%d})"

    @property
    def state(self) -> str:
        """used, cancelled, locked, expired or pending."""
        if self.used_at is not None:
            return "used"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.locked_at is not None:
            return "locked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
