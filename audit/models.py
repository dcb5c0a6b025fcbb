"""The access trail: one row per access decision, append-only and hash-chained.

Rows hold plain values (ids, labels), never foreign keys: the trail must outlive what it
describes and sits below every other app. The trail is ``audit.chain.CHAINS`` independent hash
chains, so that concurrent writers do not queue behind one chain head. On PostgreSQL the table is
partitioned by month of ``recorded_at``, a trigger picks each row's chain, numbers and chains it
as it is inserted, and another refuses UPDATE and DELETE (see the migrations). On SQLite (the
demo) ``audit.services`` does the chaining, in chain 1.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.chain import CHAINS


class Channel(models.TextChoices):
    WEB = "web", _("Portail web")
    API = "api", _("API")
    ARCHIVE = "archive", _("Archive (visionneuse)")
    EXPORT = "export", _("Export")


class Action(models.TextChoices):
    READ = "read", _("Consultation")
    LIST = "list", _("Liste")
    SEARCH = "search", _("Recherche")
    DOWNLOAD = "download", _("Téléchargement")
    EXPORT = "export", _("Export")


class Rule(models.TextChoices):
    """The rule of the access decision that decided (DESIGN.md, in order)."""

    PATIENT_SELF = "patient_self", _("Le patient lui-même")
    NOT_AUTHENTICATED = "not_authenticated", _("Utilisateur non connecté")
    NOT_ACCREDITED = "not_accredited", _("Pas d'habilitation en cours")
    CARE_TEAM = "care_team", _("Équipe de soins de l'établissement producteur")
    OPPOSITION = "opposition", _("Opposition du patient au partage")
    GRANT = "grant", _("Autorisation d'accès")
    BREAK_GLASS = "break_glass", _("Accès d'urgence (bris de glace)")
    NO_RIGHT = "no_right", _("Aucun droit d'accès")
    AUDIT = "audit", _("Contrôle par un auditeur")
    NOT_AUDITOR = "not_auditor", _("Contrôle réservé aux auditeurs")


class ActorRole(models.TextChoices):
    PATIENT = "patient", _("Patient")
    PRACTITIONER = "practitioner", _("Professionnel de santé")
    AUDITOR = "auditor", _("Auditeur")
    OTHER = "other", _("Autre utilisateur")
    ANONYMOUS = "anonymous", _("Anonyme")


GENESIS_HASH = "0" * 64


class AccessEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    # The chain the row belongs to (1 to CHAINS) and its position there, given under that
    # chain's lock (the id sequence is not gapless, and is shared by the chains).
    chain = models.PositiveSmallIntegerField(_("chaîne"), null=True, editable=False)
    chain_seq = models.BigIntegerField(_("rang dans la chaîne"), null=True, editable=False)
    recorded_at = models.DateTimeField(_("date (UTC)"))
    actor_id = models.BigIntegerField(_("utilisateur"), null=True, blank=True)
    actor_label = models.CharField(_("acteur"), max_length=254, blank=True)
    actor_role = models.CharField(_("rôle de l'acteur"), max_length=16, choices=ActorRole.choices)
    actor_practitioner_id = models.BigIntegerField(_("professionnel"), null=True, blank=True)
    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True)
    study_id = models.BigIntegerField(_("examen"), null=True, blank=True)
    study_instance_uid = models.CharField(_("StudyInstanceUID"), max_length=64, blank=True)
    establishment_id = models.BigIntegerField(_("établissement producteur"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    channel = models.CharField(_("canal"), max_length=16, choices=Channel.choices)
    granted = models.BooleanField(_("accordé"))
    rule = models.CharField(_("règle"), max_length=24, choices=Rule.choices)
    purpose = models.CharField(_("finalité"), max_length=32)
    grant_id = models.BigIntegerField(_("autorisation"), null=True, blank=True)
    break_glass_id = models.BigIntegerField(_("accès d'urgence"), null=True, blank=True)
    source_ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    prev_hash = models.CharField(_("empreinte précédente"), max_length=64, editable=False)
    hash = models.CharField(_("empreinte"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("trace d'accès")
        verbose_name_plural = _("traces d'accès")
        ordering = ("-recorded_at", "-id")
        indexes = [
            models.Index(fields=["patient_id", "recorded_at"], name="audit_event_patient"),
            models.Index(fields=["actor_id", "recorded_at"], name="audit_event_actor"),
            models.Index(
                fields=["establishment_id", "recorded_at"], name="audit_event_establishment"
            ),
            models.Index(fields=["recorded_at"], name="audit_event_recorded"),
            models.Index(fields=["chain", "chain_seq"], name="audit_event_chain"),
            models.Index(
                fields=["break_glass_id"],
                condition=models.Q(break_glass_id__isnull=False),
                name="audit_event_break_glass",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(chain__range=(1, CHAINS)), name="audit_event_chain_range"
            )
        ]

    def __str__(self) -> str:
        verdict = _("accordé") if self.granted else _("refusé")
        return (
            f"{self.chain}#{self.chain_seq} {self.recorded_at:%Y-%m-%d %H:%M} "
            f"{self.actor_label} {verdict}"
        )


class ChainHead(models.Model):
    """The last link of one chain (``id`` is the chain's number): its rank and hash. Locked by
    each insert into that chain until it commits."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("tête de chaîne")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id__range=(1, CHAINS)), name="audit_head_chain"
            )
        ]

    def __str__(self) -> str:
        return f"{self.id}#{self.seq} {self.hash[:12]}"


class RetentionRun(models.Model):
    """A month of the trail that the retention command exported, then dropped; its
    ``anchors`` say where each chain stood at the end of the month."""

    month = models.DateField(_("mois"))
    partition = models.CharField(_("partition"), max_length=63, blank=True)
    row_count = models.BigIntegerField(_("traces"))
    export_path = models.CharField(_("fichier d'export"), max_length=500)
    export_sha256 = models.CharField(_("SHA-256 de l'export"), max_length=64)
    retention_months = models.PositiveSmallIntegerField(_("durée de conservation (mois)"))
    ran_at = models.DateTimeField(_("exécuté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("purge de traces")
        verbose_name_plural = _("purges de traces")
        ordering = ("-month",)
        constraints = [models.UniqueConstraint(fields=["month"], name="audit_retention_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.row_count})"


class RetentionAnchor(models.Model):
    """What a purged month held of one chain: its ranks and how many rows, and the hash of its
    last one, which the chain's first remaining row must point at. A chain without rows that
    month has no anchor."""

    run = models.ForeignKey(
        RetentionRun, on_delete=models.PROTECT, related_name="anchors", verbose_name=_("purge")
    )
    chain = models.PositiveSmallIntegerField(_("chaîne"))
    row_count = models.BigIntegerField(_("traces"))
    first_seq = models.BigIntegerField(_("premier rang"))
    last_seq = models.BigIntegerField(_("dernier rang"))
    last_hash = models.CharField(_("dernière empreinte"), max_length=64)

    class Meta:
        verbose_name = _("ancre de purge")
        verbose_name_plural = _("ancres de purge")
        ordering = ("run", "chain")
        constraints = [
            models.UniqueConstraint(fields=["run", "chain"], name="audit_anchor_run_chain")
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.first_seq}-{self.last_seq} ({self.row_count})"
