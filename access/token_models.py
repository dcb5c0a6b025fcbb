"""Viewer tokens: what a viewer presents to the archive, which asks the portal about it.

Imported by ``access.models`` so that Django registers the model with the access app.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ViewerTokenQuerySet(models.QuerySet["ViewerToken"]):
    def usable(self, at: datetime.datetime | None = None) -> ViewerTokenQuerySet:
        """Tokens not revoked and not expired at ``at`` (now by default)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=at or timezone.now())


class ViewerToken(models.Model):
    """An opaque, short-lived token opening the archive's viewer for one user, and for one
    study when ``study`` is set.

    The token itself is shown once, to its owner; only its SHA-256 is kept (a random 256-bit
    secret needs no slow hash). Every use goes through ``access.decide`` for ``user``: the token
    carries no right of its own.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="viewer_tokens",
        verbose_name=_("utilisateur"),
    )
    study = models.ForeignKey(
        "imaging.ImagingStudy",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("examen"),
    )
    token_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    objects = ViewerTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("jeton de visionneuse")
        verbose_name_plural = _("jetons de visionneuse")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "expires_at"], name="access_viewer_token_user"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="access_viewer_token_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.created_at:%Y-%m-%d %H:%M})"

    def is_usable(self, at: datetime.datetime | None = None) -> bool:
        moment = at or timezone.now()
        return self.revoked_at is None and moment < self.expires_at
