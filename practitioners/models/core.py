"""Health professionals and their accreditation to the network."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_adeli, validate_rpps


class Profession(models.TextChoices):
    """Professions of the national nomenclature TRE_G15 that the network accredits (DOMAIN.md)."""

    PHYSICIAN = "10", _("Médecin")
    PHARMACIST = "21", _("Pharmacien")
    MEDICAL_PHYSICIST = "32", _("Physicien médical")
    DENTIST = "40", _("Chirurgien-dentiste")
    MIDWIFE = "50", _("Sage-femme")
    NURSE = "60", _("Infirmier")
    PHYSIOTHERAPIST = "70", _("Masseur-kinésithérapeute")
    SPEECH_THERAPIST = "91", _("Orthophoniste")
    RADIOGRAPHER = "98", _("Manipulateur d'électroradiologie médicale")


class Specialty(models.TextChoices):
    """Specialties (savoir-faire, nomenclature TRE_R38) relevant to the network (DOMAIN.md)."""

    RADIO_DIAGNOSTIC = "SM44", _("Radio-diagnostic")
    RADIOLOGY = "SM74", _("Radiologie et imagerie médicale")
    NUCLEAR_MEDICINE = "SM28", _("Médecine nucléaire")
    RADIOTHERAPY = "SM45", _("Radiothérapie")
    GP_QUALIFIED = "SM26", _("Qualifié en médecine générale")
    GP_SPECIALIST = "SM53", _("Spécialiste en médecine générale")
    GENERAL_PRACTICE = "SM54", _("Médecine générale")


class IdentifierType(models.TextChoices):
    RPPS = "rpps", _("RPPS")
    ADELI = "adeli", _("ADELI")


def profession_label(code: str) -> str:
    """The French label of a TRE_G15 code, or the code itself when it is not in the list."""
    return str(dict(Profession.choices).get(code, code))


def specialty_label(code: str) -> str:
    """The French label of a TRE_R38 code, or the code itself when it is not in the list."""
    return str(dict(Specialty.choices).get(code, code))


class Practitioner(models.Model):
    """A health professional, known by RPPS (or ADELI for professions outside RPPS)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner",
    )
    rpps = models.CharField(
        _("RPPS"),
        max_length=11,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_rpps],  # type: ignore[list-item]
    )
    adeli = models.CharField(
        _("ADELI"),
        max_length=9,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_adeli],  # type: ignore[list-item]
    )
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    profession_code = models.CharField(_("profession (code TRE_G15)"), max_length=4)
    specialty_code = models.CharField(_("spécialité (code TRE_R38)"), max_length=8, blank=True)
    email = models.EmailField(_("e-mail professionnel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=32, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("professionnel de santé")
        verbose_name_plural = _("professionnels de santé")
        ordering = ("last_name", "first_name")
        constraints = [
            models.CheckConstraint(
                condition=Q(rpps__isnull=False) | Q(adeli__isnull=False),
                name="practitioner_has_identifier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def idnps(self) -> str:
        """National professional id: "8" + RPPS, or "0" + ADELI."""
        return f"8{self.rpps}" if self.rpps else f"0{self.adeli}"

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession_code)

    @property
    def specialty_label(self) -> str:
        return specialty_label(self.specialty_code) if self.specialty_code else ""


class PracticeSite(models.Model):
    """Where a practitioner practises: a member establishment, or a city practice.

    An active site at an establishment puts the practitioner in that establishment's care team.
    Phones and department come from the establishment's telephony directory when it has one;
    a practitioner who disappears from it is suspended on that site until the referent decides.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspendue")
        ENDED = "ended", _("Terminée")

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="practice_sites"
    )
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="practice_sites",
    )
    # A city practice (no establishment): its name and address.
    practice_name = models.CharField(_("nom du cabinet"), max_length=200, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("motif"), max_length=300, blank=True)
    # From the telephony directory.
    phone = models.CharField(_("poste"), max_length=32, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    department = models.CharField(_("service"), max_length=200, blank=True)
    directory_dn = models.CharField(_("entrée d'annuaire"), max_length=500, blank=True)
    directory_seen_at = models.DateTimeField(_("vu dans l'annuaire le"), null=True, blank=True)
    is_leaver = models.BooleanField(_("absent de l'annuaire"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lieu d'exercice")
        verbose_name_plural = _("lieux d'exercice")
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "establishment"],
                condition=Q(establishment__isnull=False) & ~Q(status="ended"),
                name="practice_site_unique_establishment",
            ),
            models.CheckConstraint(
                condition=Q(establishment__isnull=False) | ~Q(practice_name=""),
                name="practice_site_establishment_or_city_practice",
            ),
        ]

    def __str__(self) -> str:
        return str(self.establishment) if self.establishment_id else self.practice_name

    @property
    def label(self) -> str:
        """The establishment's name, or the city practice's name and town."""
        if self.establishment is not None:
            return self.establishment.name
        return f"{self.practice_name} ({self.city})" if self.city else self.practice_name


class AccreditationQuerySet(models.QuerySet["Accreditation"]):
    def active(self, on: datetime.date | None = None) -> AccreditationQuerySet:
        """Accreditations in force on ``on`` (today by default)."""
        day = on or timezone.localdate()
        return self.filter(
            status=Accreditation.Status.ACTIVE, valid_from__lte=day, valid_until__gte=day
        )


class Accreditation(models.Model):
    """The network's permission for a practitioner to see patients' imaging, for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspendue")
        REVOKED = "revoked", _("Révoquée")
        EXPIRED = "expired", _("Expirée")

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="accreditations"
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    status_reason = models.CharField(_("motif"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("statut modifié le"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accordée par"),
    )
    # Set once by the reminder task (conditional update): one reminder per accreditation.
    reminder_sent_at = models.DateTimeField(_("rappel envoyé le"), null=True, blank=True)
    renewal_requested_at = models.DateTimeField(
        _("renouvellement demandé le"), null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccreditationQuerySet.as_manager()

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ("-valid_until",)
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="accreditation_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} ({self.get_status_display()} → {self.valid_until})"

    def in_force(self, on: datetime.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.status == self.Status.ACTIVE and self.valid_from <= day <= self.valid_until


class PractitionerReference(models.Model):
    """One professional of the national reference extract, as ``import_practitioners`` loads it.

    Used to check that a declared RPPS or ADELI number exists and belongs to the declared names.
    """

    rpps = models.CharField(_("RPPS"), max_length=11, null=True, blank=True, unique=True)
    adeli = models.CharField(_("ADELI"), max_length=9, null=True, blank=True, unique=True)
    last_name = models.CharField(_("nom d'exercice"), max_length=150)
    first_name = models.CharField(_("prénom d'exercice"), max_length=150, blank=True)
    profession_code = models.CharField(_("code profession"), max_length=4, blank=True)
    specialty_code = models.CharField(_("code savoir-faire"), max_length=8, blank=True)
    imported_at = models.DateTimeField(_("importé le"))

    class Meta:
        verbose_name = _("entrée du référentiel des professionnels")
        verbose_name_plural = _("référentiel des professionnels")
        ordering = ("last_name", "first_name")
        constraints = [
            models.CheckConstraint(
                condition=Q(rpps__isnull=False) | Q(adeli__isnull=False),
                name="practitioner_reference_has_identifier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rpps or self.adeli} – {self.first_name} {self.last_name}"


class AccreditationRequest(models.Model):
    """A user's request to be accredited, reviewed site by site.

    Each requested site is decided by its reviewer (the referents of a member establishment, the
    regional administrators for a city practice). The request is approved once no site is
    pending and at least one is approved; rejected once every site is rejected.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("En attente d'examen")
        INFO_REQUESTED = "info_requested", _("Complément demandé")
        APPROVED = "approved", _("Approuvée")
        REJECTED = "rejected", _("Refusée")

    OPEN_STATUSES = (Status.SUBMITTED, Status.INFO_REQUESTED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accreditation_requests"
    )
    identifier_type = models.CharField(
        _("type d'identifiant"), max_length=5, choices=IdentifierType.choices
    )
    identifier = models.CharField(_("numéro"), max_length=11)
    last_name = models.CharField(_("nom d'exercice"), max_length=150)
    first_name = models.CharField(_("prénom d'exercice"), max_length=150)
    profession_code = models.CharField(_("profession"), max_length=4, choices=Profession.choices)
    specialty_code = models.CharField(
        _("spécialité"), max_length=8, choices=Specialty.choices, blank=True
    )
    email = models.EmailField(_("e-mail professionnel"))
    phone = models.CharField(_("téléphone"), max_length=32, blank=True)
    purpose = models.TextField(_("objet de la demande"))
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    # The reviewer's last question, while the request waits for the applicant's answer.
    pending_question = models.TextField(_("complément demandé"), blank=True)
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accreditation_requests",
    )
    accreditation = models.OneToOneField(
        Accreditation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="request",
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("déposée le"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("demande d'habilitation")
        verbose_name_plural = _("demandes d'habilitation")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["identifier_type", "identifier"],
                condition=Q(status__in=["submitted", "info_requested"]),
                name="accreditation_request_one_open_per_identifier",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["submitted", "info_requested"]),
                name="accreditation_request_one_open_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession_code)

    @property
    def specialty_label(self) -> str:
        return specialty_label(self.specialty_code) if self.specialty_code else ""


class AccreditationRequestSite(models.Model):
    """A practice site named in a request, with its own reviewer's decision."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("En attente")
        APPROVED = "approved", _("Approuvé")
        REJECTED = "rejected", _("Refusé")

    request = models.ForeignKey(
        AccreditationRequest, on_delete=models.CASCADE, related_name="sites"
    )
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accreditation_request_sites",
    )
    practice_name = models.CharField(_("nom du cabinet"), max_length=200, blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    decision = models.CharField(
        _("décision"), max_length=16, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    practice_site = models.ForeignKey(
        PracticeSite, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("lieu d'exercice demandé")
        verbose_name_plural = _("lieux d'exercice demandés")
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["request", "establishment"],
                condition=Q(establishment__isnull=False),
                name="accreditation_request_site_unique_establishment",
            ),
            models.CheckConstraint(
                condition=Q(establishment__isnull=False) | ~Q(practice_name=""),
                name="accreditation_request_site_establishment_or_city_practice",
            ),
            models.CheckConstraint(
                condition=~Q(decision="rejected") | ~Q(reason=""),
                name="accreditation_request_site_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.establishment is not None:
            return self.establishment.name
        return f"{self.practice_name} ({self.city})" if self.city else self.practice_name

    @property
    def is_city_practice(self) -> bool:
        return self.establishment_id is None


class AccreditationEvent(models.Model):
    """One line of the history of a request, an accreditation or a practice site (append-only)."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Demande déposée")
        INFO_REQUESTED = "info_requested", _("Complément demandé")
        INFO_PROVIDED = "info_provided", _("Complément apporté")
        SITES_APPROVED = "sites_approved", _("Lieu d'exercice approuvé")
        SITES_REJECTED = "sites_rejected", _("Lieu d'exercice refusé")
        APPROVED = "approved", _("Habilitation accordée")
        REJECTED = "rejected", _("Demande refusée")
        RENEWAL_REQUESTED = "renewal_requested", _("Renouvellement demandé")
        RENEWED = "renewed", _("Habilitation renouvelée")
        REMINDER_SENT = "reminder_sent", _("Rappel de renouvellement envoyé")
        EXPIRED = "expired", _("Habilitation expirée")
        SUSPENDED = "suspended", _("Habilitation suspendue")
        REINSTATED = "reinstated", _("Habilitation rétablie")
        REVOKED = "revoked", _("Habilitation révoquée")
        SITE_SUSPENDED = "site_suspended", _("Lieu d'exercice suspendu")
        SITE_REINSTATED = "site_reinstated", _("Lieu d'exercice rétabli")
        SITE_ENDED = "site_ended", _("Lieu d'exercice terminé")

    kind = models.CharField(_("événement"), max_length=24, choices=Kind.choices)
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="accreditation_events",
    )
    request = models.ForeignKey(
        AccreditationRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )
    accreditation = models.ForeignKey(
        Accreditation, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    practice_site = models.ForeignKey(
        PracticeSite, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    # Nobody for the scheduled tasks and the directory sync.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    comment = models.TextField(_("commentaire"), blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("événement d'habilitation")
        verbose_name_plural = _("historique des habilitations")
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["practitioner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d} {self.get_kind_display()}"


__all__ = [
    "Accreditation",
    "AccreditationEvent",
    "AccreditationQuerySet",
    "AccreditationRequest",
    "AccreditationRequestSite",
    "IdentifierType",
    "PracticeSite",
    "Practitioner",
    "PractitionerReference",
    "Profession",
    "Specialty",
    "profession_label",
    "specialty_label",
]
