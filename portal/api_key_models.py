"""API keys: what a script presents to the REST API instead of a browser session.

Imported by ``portal.models`` so that Django registers the model with the portal app.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 100


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self, at: datetime.datetime | None = None) -> ApiKeyQuerySet:
        """Keys not revoked and not expired at ``at`` (now by default)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=at or timezone.now())


class ApiKey(models.Model):
    """A long-lived secret that authenticates its user on the REST API (``Authorization:
    Api-Key <key>``, ``portal.api_key_auth``).

    The key acts as its user, with the user's roles and every object-level check: it carries no
    right of its own. The key itself is shown once, when it is created; only its SHA-256 is
    kept (a random 256-bit secret needs no slow hash) with a short public ``prefix`` by which
    its owner recognises it in lists.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expirée")
        REVOKED = "revoked", _("Révoquée")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("utilisateur"),
    )
    name = models.CharField(_("nom"), max_length=NAME_MAX_LENGTH)
    prefix = models.CharField(_("début de la clé"), max_length=16, editable=False)
    key_hash = models.CharField(_("empreinte de la clé"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("révoquée par"),
    )
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(
        _("adresse de la dernière utilisation"), null=True, blank=True
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("clé d'API")
        verbose_name_plural = _("clés d'API")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "expires_at"], name="portal_api_key_user"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="portal_api_key_period_ordered",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="portal_api_key_named"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def state(self, at: datetime.datetime | None = None) -> ApiKey.State:
        """Revoked, else expired, else active, at ``at`` (now by default)."""
        if self.revoked_at is not None:
            return ApiKey.State.REVOKED
        if (at or timezone.now()) >= self.expires_at:
            return ApiKey.State.EXPIRED
        return ApiKey.State.ACTIVE

    def is_usable(self, at: datetime.datetime | None = None) -> bool:
        return self.state(at) == ApiKey.State.ACTIVE
