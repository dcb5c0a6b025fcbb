"""The imaging index: patients, their identifiers at each establishment, studies, and the
archives (Orthanc) the index is kept in step with.

Field names that mirror DICOM attributes are the snake_case of the DICOM keyword
(``study_instance_uid``, ``patient_birth_date``...); an Orthanc resource id is ``archive_id``.
"""

from __future__ import annotations

import string
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.identifiers import validate_ins

# DICOM value lengths (PS3.5 §6.2): UI 64, LO 64, SH 16, PN 64 per component group. Archives do
# not always respect them, so columns are a little wider where a longer value is still usable.
UID_MAX_LENGTH = 64
PATIENT_ID_MAX_LENGTH = 128
PATIENT_NAME_MAX_LENGTH = 324
ACCESSION_NUMBER_MAX_LENGTH = 64
MODALITIES_MAX_LENGTH = 100
STUDY_DESCRIPTION_MAX_LENGTH = 4000


class Patient(models.Model):
    """A person as the archives know them; names are kept exactly as DICOM gives them.

    One ``Patient`` is one person for the portal: the identifiers of several establishments
    point to the same row once linked (by INS, or by a referent).
    """

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
    patient_name = models.CharField(_("nom (DICOM)"), max_length=PATIENT_NAME_MAX_LENGTH)
    patient_birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    patient_sex = models.CharField(
        _("sexe"), max_length=1, choices=Sex.choices, blank=True, default=Sex.UNKNOWN
    )
    # A record merged into another (by INS or by a referent) is kept, pointing at the
    # survivor, so that what other apps hold on it can follow; it has no identifiers left.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_records",
        verbose_name=_("fusionné dans"),
    )
    demo = models.BooleanField(_("donnée de démonstration"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """``DURAND^Hélène^^^`` read as ``Hélène DURAND``."""
        return readable_person_name(self.patient_name)


def readable_person_name(value: str) -> str:
    """A DICOM person name (``Family^Given^Middle^Prefix^Suffix``) as people write it.

    Only the first (alphabetic) component group is read; ideographic and phonetic groups after
    ``=`` are ignored. Anything that is not in that shape is returned unchanged.
    """
    alphabetic = value.split("=", 1)[0]
    parts = [part.strip() for part in alphabetic.split("^")]
    family = parts[0] if parts else ""
    given = " ".join(part for part in parts[1:3] if part)
    prefix = parts[3] if len(parts) > 3 else ""
    suffix = parts[4] if len(parts) > 4 else ""
    words = [prefix, given, family, suffix]
    return " ".join(word for word in words if word) or value


class PatientIdentifier(models.Model):
    """A patient's local identifier (DICOM PatientID) as issued by one establishment.

    The establishment is the issuer: the same PatientID at two establishments names two
    records, which only an INS or a referent links. The demographics are kept here as that
    establishment's archive gives them.
    """

    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        related_name="patient_identifiers",
        verbose_name=_("établissement émetteur"),
    )
    patient_id = models.CharField(_("identifiant local (PatientID)"), max_length=128)
    patient_record = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="identifiers",
        verbose_name=_("patient"),
    )
    patient_name = models.CharField(
        _("nom (DICOM)"), max_length=PATIENT_NAME_MAX_LENGTH, blank=True
    )
    patient_birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    patient_sex = models.CharField(
        _("sexe"), max_length=1, choices=Patient.Sex.choices, blank=True, default=""
    )
    # Set when a referent separated this identifier from a record: the sync then no longer
    # links it again by INS on its own.
    ins_link_blocked = models.BooleanField(_("rapprochement par INS bloqué"), default=False)
    demo = models.BooleanField(_("donnée de démonstration"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("identifiant patient local")
        verbose_name_plural = _("identifiants patient locaux")
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "patient_id"], name="patient_identifier_unique_issuer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.establishment_id}:{self.patient_id}"

    @property
    def display_name(self) -> str:
        return readable_person_name(self.patient_name)


class PatientLinkEvent(models.Model):
    """Who linked or unlinked which patient records, and when.

    Kept here until the audit app records it; the values are plain (no foreign key to the
    patients) so the row outlives a merged record.
    """

    class Action(models.TextChoices):
        LINK = "link", _("Rapprochement manuel")
        UNLINK = "unlink", _("Séparation manuelle")
        INS_LINK = "ins_link", _("Rapprochement par l'INS")

    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    patient_pk = models.BigIntegerField(_("patient conservé"))
    other_patient_pk = models.BigIntegerField(_("autre patient"), null=True, blank=True)
    identifier = models.CharField(_("identifiant déplacé"), max_length=200, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    by_label = models.CharField(_("par (libellé)"), max_length=254, blank=True)
    at = models.DateTimeField(_("le"), auto_now_add=True)

    class Meta:
        verbose_name = _("rapprochement de patients")
        verbose_name_plural = _("rapprochements de patients")
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.patient_pk} ← {self.other_patient_pk}"


# The placeholders of an archive's viewer address (``ArchiveSource.viewer_url``), replaced by
# percent-encoded values when the portal opens a study in the viewer.
VIEWER_URL_PLACEHOLDERS = ("study_instance_uid", "token")


def validate_viewer_url(value: str) -> None:
    """A viewer address template: an http(s) URL carrying ``{study_instance_uid}`` and
    ``{token}`` and no other placeholder (write ``{{`` and ``}}`` for literal braces)."""
    try:
        fields = [
            (name, conversion, spec)
            for _text, name, spec, conversion in string.Formatter().parse(value)
            if name is not None
        ]
    except ValueError as exc:
        raise ValidationError(
            _("Accolade mal fermée : écrivez {{ et }} pour une accolade littérale."),
            code="viewer_url_braces",
        ) from exc
    for name, conversion, spec in fields:
        if name not in VIEWER_URL_PLACEHOLDERS or conversion or spec:
            raise ValidationError(
                _(
                    "Variable inconnue « {%(name)s} » : seules {study_instance_uid} et "
                    "{token} sont permises."
                ),
                code="viewer_url_placeholder",
                params={"name": name},
            )
    missing = [name for name in VIEWER_URL_PLACEHOLDERS if name not in {f[0] for f in fields}]
    if missing:
        raise ValidationError(
            _("L'adresse doit contenir {study_instance_uid} et {token}."),
            code="viewer_url_missing",
        )
    sample = render_viewer_url(value, study_instance_uid="1.2.3", token="jeton")  # noqa: S106 - a sample value
    try:
        URLValidator(schemes=["http", "https"])(sample)
    except ValidationError as exc:
        raise ValidationError(
            _("Adresse invalide : indiquez une URL http:// ou https://."), code="viewer_url"
        ) from exc


def render_viewer_url(template: str, *, study_instance_uid: str, token: str) -> str:
    """``template`` with its placeholders replaced by percent-encoded values."""
    return template.format(
        study_instance_uid=quote(study_instance_uid, safe=""), token=quote(token, safe="")
    )


class ArchiveSource(models.Model):
    """An establishment's Orthanc archive and the state of its sync.

    The password is never shown back: it is kept encrypted with a key derived from
    ``SECRET_KEY`` (``imaging.crypto``). ``cursor`` is the last Orthanc change (``Seq``) whose
    effects are in the index; it moves in the same transaction as the rows it covers.

    The archive also calls the portal (the authorization web service, ``/orthanc-auth/``)
    with its own user and password: the portal only verifies that password, so only a
    one-way hash of it is kept (``callback_password_hash``, Django's password hashers).
    """

    class State(models.TextChoices):
        IDLE = "idle", _("À jour")
        QUEUED = "queued", _("Synchronisation demandée")
        RUNNING = "running", _("Synchronisation en cours")
        FAILED = "failed", _("En échec")

    class ErrorKind(models.TextChoices):
        NONE = "", _("Aucune")
        UNREACHABLE = "unreachable", _("Archive injoignable")
        CREDENTIALS = "credentials", _("Identifiants refusés")
        NOT_FOUND = "not_found", _("Adresse introuvable")
        PROTOCOL = "protocol", _("Réponse inattendue")
        CONFIGURATION = "configuration", _("Configuration incomplète")

    establishment = models.OneToOneField(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        related_name="archive_source",
        verbose_name=_("établissement"),
    )
    base_url = models.URLField(_("adresse de l'archive Orthanc"), max_length=300)
    username = models.CharField(_("utilisateur Orthanc"), max_length=150, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(_("synchronisation active"), default=True)
    cursor = models.BigIntegerField(_("dernier changement intégré"), default=0)
    archive_last_seq = models.BigIntegerField(_("dernier changement de l'archive"), default=0)
    state = models.CharField(_("état"), max_length=16, choices=State.choices, default=State.IDLE)
    progress_done = models.PositiveIntegerField(_("changements lus"), default=0)
    progress_total = models.PositiveIntegerField(_("changements à lire"), default=0)
    last_attempt_at = models.DateTimeField(_("dernière tentative"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("dernier succès"), null=True, blank=True)
    last_reconciled_at = models.DateTimeField(_("dernier rapprochement"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    last_error_kind = models.CharField(
        _("type d'erreur"), max_length=16, choices=ErrorKind.choices, blank=True, default=""
    )
    failure_count = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), null=True, blank=True)
    last_report = models.JSONField(_("dernier compte rendu"), default=dict, blank=True)
    last_reconcile_report = models.JSONField(
        _("dernier compte rendu de rapprochement"), default=dict, blank=True
    )
    callback_username = models.CharField(
        _("utilisateur de l'archive auprès du portail"), max_length=150, blank=True
    )
    callback_password_hash = models.CharField(max_length=256, blank=True, editable=False)
    viewer_url = models.CharField(
        _("adresse de la visionneuse"),
        max_length=500,
        blank=True,
        validators=[validate_viewer_url],
    )
    demo = models.BooleanField(_("donnée de démonstration"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("archive d'imagerie")
        verbose_name_plural = _("archives d'imagerie")
        ordering = ("establishment__name", "id")
        constraints = [
            models.CheckConstraint(condition=models.Q(cursor__gte=0), name="archive_cursor_gte_0"),
            # The archive is told apart by its user when it calls the portal.
            models.UniqueConstraint(
                fields=["callback_username"],
                condition=~models.Q(callback_username=""),
                name="archive_callback_username_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.establishment} – {self.base_url}"

    @property
    def lag(self) -> int:
        """Changes the archive has recorded that the index has not read yet."""
        return max(0, self.archive_last_seq - self.cursor)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    @property
    def has_callback_credentials(self) -> bool:
        return bool(self.callback_username and self.callback_password_hash)

    def viewer_link(self, *, study_instance_uid: str, token: str) -> str | None:
        """The address opening ``study_instance_uid`` in this archive's viewer with ``token``;
        None when no viewer is configured."""
        if not self.viewer_url:
            return None
        return render_viewer_url(
            self.viewer_url, study_instance_uid=study_instance_uid, token=token
        )


class ImagingStudyQuerySet(models.QuerySet["ImagingStudy"]):
    def present(self) -> ImagingStudyQuerySet:
        """Studies still in their archive (not marked deleted)."""
        return self.filter(deleted_at__isnull=True)


class ImagingStudy(models.Model):
    """One study of a member establishment's archive, as the index knows it."""

    study_instance_uid = models.CharField(
        _("StudyInstanceUID"), max_length=UID_MAX_LENGTH, unique=True
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="studies",
        verbose_name=_("patient"),
    )
    patient_identifier = models.ForeignKey(
        PatientIdentifier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="studies",
        verbose_name=_("identifiant patient local"),
    )
    accession_number = models.CharField(
        _("numéro d'examen (AccessionNumber)"), max_length=ACCESSION_NUMBER_MAX_LENGTH, blank=True
    )
    study_date = models.DateField(_("date de l'examen"), null=True, blank=True)
    study_time = models.TimeField(_("heure de l'examen"), null=True, blank=True)
    # Comma-joined DICOM modality codes ("CT,SR"): portable to SQLite, which the demo uses.
    modalities = models.CharField(_("modalités"), max_length=MODALITIES_MAX_LENGTH, blank=True)
    study_description = models.TextField(_("description"), blank=True)
    series_count = models.PositiveIntegerField(_("séries"), default=0)
    instance_count = models.PositiveIntegerField(_("images"), default=0)
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        related_name="imaging_studies",
        verbose_name=_("établissement producteur"),
    )
    report_available = models.BooleanField(_("compte rendu disponible"), default=False)
    archive_id = models.CharField(_("identifiant Orthanc"), max_length=64, blank=True)
    source = models.ForeignKey(
        ArchiveSource,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="studies",
        verbose_name=_("archive"),
    )
    # Last time the archive showed this study (sync or reconciliation): what a reconciliation
    # compares against to find vanished studies.
    seen_at = models.DateTimeField(_("vue dans l'archive le"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("supprimée de l'archive le"), null=True, blank=True)
    demo = models.BooleanField(_("donnée de démonstration"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImagingStudyQuerySet.as_manager()

    class Meta:
        verbose_name = _("examen d'imagerie")
        verbose_name_plural = _("examens d'imagerie")
        ordering = ("-study_date", "-id")
        indexes = [
            models.Index(fields=["source", "archive_id"], name="imaging_study_source_archive"),
            models.Index(fields=["establishment", "study_date"], name="imaging_study_estab_date"),
            models.Index(fields=["source", "seen_at"], name="imaging_study_source_seen"),
        ]

    def __str__(self) -> str:
        return self.study_instance_uid

    @property
    def modality_list(self) -> list[str]:
        return [code for code in self.modalities.split(",") if code]
