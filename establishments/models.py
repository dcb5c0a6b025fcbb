"""Establishments of the network and the people who act for them."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
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


class EstablishmentStatusChange(models.Model):
    """One move of an establishment's status, kept for the history shown to administrators."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(
        _("ancien statut"), max_length=16, choices=Establishment.Status.choices
    )
    to_status = models.CharField(
        _("nouveau statut"), max_length=16, choices=Establishment.Status.choices
    )
    reason = models.TextField(_("motif"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    changed_at = models.DateTimeField(_("le"), auto_now_add=True)

    class Meta:
        verbose_name = _("changement de statut")
        verbose_name_plural = _("changements de statut")
        ordering = ("-changed_at", "-id")

    def __str__(self) -> str:
        return f"{self.establishment} : {self.from_status} → {self.to_status}"


class DirectorApplication(models.Model):
    """A person's declaration that they direct an establishment, with a proof, for review.

    The declared establishment is copied here as typed: the ``Establishment`` row only exists
    (or is found) once a regional administrator approves.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("En attente d'examen")
        APPROVED = "approved", _("Approuvée")
        REJECTED = "rejected", _("Refusée")
        WITHDRAWN = "withdrawn", _("Retirée")

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="director_applications",
        verbose_name=_("demandeur"),
    )
    finess_eg = models.CharField(
        _("FINESS géographique"),
        max_length=9,
        validators=[validate_finess],  # type: ignore[list-item]
    )
    finess_ej = models.CharField(
        _("FINESS juridique"),
        max_length=9,
        blank=True,
        validators=[validate_finess],  # type: ignore[list-item]
    )
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        blank=True,
        validators=[validate_siret],  # type: ignore[list-item]
    )
    name = models.CharField(_("nom de l'établissement"), max_length=200)
    kind = models.CharField(_("catégorie"), max_length=32, choices=Establishment.Kind.choices)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    finess_entry = models.ForeignKey(
        FinessEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entrée FINESS choisie"),
    )
    function = models.CharField(_("fonction"), max_length=200)
    proof = models.FileField(_("justificatif"), upload_to="director-proofs/", max_length=200)
    proof_content_type = models.CharField(_("type du justificatif"), max_length=50)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    rejection_reason = models.TextField(_("motif du refus"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("décidée par"),
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("déposée le"), auto_now_add=True)
    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="director_applications",
        verbose_name=_("établissement"),
    )

    class Meta:
        verbose_name = _("demande d'adhésion")
        verbose_name_plural = _("demandes d'adhésion")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "finess_eg"],
                condition=models.Q(status="submitted"),
                name="director_application_one_open_per_finess",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(rejection_reason=""),
                name="director_application_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["approved", "rejected"])
                | models.Q(decided_at__isnull=False),
                name="director_application_decision_is_dated",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="approved") | models.Q(establishment__isnull=False),
                name="director_application_approval_names_establishment",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.finess_eg}) – {self.applicant}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.SUBMITTED


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Neither accepted nor revoked, and not yet expired."""
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A director's invitation, by e-mail, to join their establishment as referent or staff.

    Only the SHA-256 of the token is stored: the raw token lives in the e-mailed link alone, so
    a database leak does not hand out memberships.
    """

    class Role(models.TextChoices):
        REFERENT = "referent", _("Référent")
        STAFF = "staff", _("Personnel")

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("établissement"),
    )
    email = models.EmailField(_("adresse e-mail"))
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invité par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expire le"))
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acceptée par"),
    )
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("révoquée par"),
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["referent", "staff"]),
                name="invitation_role_referent_or_staff",
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="invitation_not_both_accepted_and_revoked",
            ),
            # One open invitation per person and role: a new one replaces (revokes) the old.
            models.UniqueConstraint(
                "establishment",
                Lower("email"),
                "role",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email_and_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} – {self.get_role_display()} – {self.establishment}"

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self) -> bool:
        return not (self.is_accepted or self.is_revoked or self.is_expired)


# --- Proofs of function ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProofType:
    content_type: str
    extension: str
    signature: bytes


# Recognised from the file's first bytes, never from its name or the browser's word for it.
PROOF_TYPES: tuple[ProofType, ...] = (
    ProofType("application/pdf", "pdf", b"%PDF-"),
    ProofType("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    ProofType("image/jpeg", "jpg", b"\xff\xd8\xff"),
)
DEFAULT_PROOF_MAX_BYTES = 5 * 1024 * 1024


def proof_max_bytes() -> int:
    return int(getattr(settings, "ESTABLISHMENT_PROOF_MAX_BYTES", DEFAULT_PROOF_MAX_BYTES))


def validate_proof(proof: File) -> ProofType:
    """Check a proof of function: PDF, PNG or JPEG by its magic number, and not too large.

    Returns the detected type; raises ``ValidationError`` (codes ``too_large``,
    ``invalid_type``) with a French message otherwise.
    """
    limit = proof_max_bytes()
    if proof.size is None or proof.size > limit:
        raise ValidationError(
            _("Le justificatif dépasse la taille maximale de %(limit)s."),
            code="too_large",
            params={"limit": filesizeformat(limit)},
        )
    proof.seek(0)
    head = proof.read(16)
    proof.seek(0)
    for proof_type in PROOF_TYPES:
        if head.startswith(proof_type.signature):
            return proof_type
    raise ValidationError(
        _("Le justificatif doit être un fichier PDF, PNG ou JPEG (son contenu a été vérifié)."),
        code="invalid_type",
    )
