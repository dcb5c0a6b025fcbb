"""Patients of the imaging index."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_ins


class Patient(models.Model):
    """A patient as the archives know them; names are kept exactly as DICOM gives them."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Féminin")
        MALE = "M", _("Masculin")
        OTHER = "O", _("Autre")
        UNKNOWN = "", _("Inconnu")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
    )
    ins = models.CharField(
        _("INS"),
        max_length=15,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_ins],  # type: ignore[list-item]
    )
    patient_name = models.CharField(_("nom (DICOM)"), max_length=324)
    patient_birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    patient_sex = models.CharField(
        _("sexe"), max_length=1, choices=Sex.choices, blank=True, default=Sex.UNKNOWN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """``DURAND^Hélène^^^`` read as ``Hélène DURAND``."""
        parts = [part.strip() for part in self.patient_name.split("^")]
        family = parts[0] if parts else ""
        given = " ".join(part for part in parts[1:3] if part)
        return f"{given} {family}".strip() or self.patient_name
