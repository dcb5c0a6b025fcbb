"""Telephony directories of establishments (LDAP) and their sync."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["DEFAULT_ATTRIBUTE_MAPPING", "MAPPED_FACTS", "TelephonyDirectory", "UnmatchedReason"]

# Which LDAP attribute holds each fact (DESIGN.md); a referent may change them per directory.
DEFAULT_ATTRIBUTE_MAPPING = {
    "phone": "telephoneNumber",
    "mobile": "mobile",
    "email": "mail",
    "rpps": "employeeNumber",
    "department": "departmentNumber",
}


# The facts a directory may give, in the order the configuration form shows them.
MAPPED_FACTS = ("rpps", "email", "phone", "mobile", "department")


class UnmatchedReason(models.TextChoices):
    """Why a directory entry was not applied to any practitioner (in sync reports)."""

    NO_MATCH = "no_match", _("Ni RPPS ni e-mail reconnus")
    UNKNOWN_RPPS = "unknown_rpps", _("RPPS inconnu dans l'établissement")
    AMBIGUOUS_EMAIL = "ambiguous_email", _("E-mail partagé par plusieurs entrées de l'annuaire")
    SHARED_EMAIL = "shared_email", _("E-mail partagé par plusieurs professionnels")
    DUPLICATE = "duplicate", _("Plusieurs entrées pour le même professionnel")


def default_attribute_mapping() -> dict[str, str]:
    return dict(DEFAULT_ATTRIBUTE_MAPPING)


class TelephonyDirectory(models.Model):
    """An establishment's LDAP telephony directory, as its referent configured it."""

    establishment = models.OneToOneField(
        "establishments.Establishment",
        on_delete=models.CASCADE,
        related_name="telephony_directory",
    )
    url = models.CharField(_("URL du serveur"), max_length=300)
    bind_dn = models.CharField(_("DN de connexion"), max_length=500, blank=True)
    # Never shown back: kept encrypted, or read from a file named by the operator.
    bind_password_encrypted = models.TextField(blank=True)
    bind_password_file = models.CharField(_("fichier du mot de passe"), max_length=500, blank=True)
    base_dn = models.CharField(_("DN de base"), max_length=500)
    search_filter = models.CharField(
        _("filtre de recherche"), max_length=500, default="(objectClass=inetOrgPerson)"
    )
    attribute_mapping = models.JSONField(
        _("correspondance des attributs"), default=default_attribute_mapping
    )
    enabled = models.BooleanField(_("synchronisation active"), default=True)
    last_sync_at = models.DateTimeField(_("dernière synchronisation"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("dernier succès"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    last_report = models.JSONField(_("dernier compte rendu"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("annuaire téléphonique")
        verbose_name_plural = _("annuaires téléphoniques")

    def __str__(self) -> str:
        return f"{self.establishment} – {self.url}"

    @property
    def has_password(self) -> bool:
        """Whether a bind password is on record (encrypted here, or in the operator's file)."""
        return bool(self.bind_password_encrypted or self.bind_password_file)
