"""Serializers of the patient API (``access.me_api``): my studies, who looked at them, my
grants and my opposition, and the practitioner directory for a new grant.

The patient is never named in these answers: it is always the signed-in patient's own record.
Input serializers shape the data; the rules are ``access.services``'s, whose refusals the API
reports field by field as HTTP 400.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access.models import AccessGrant, BreakGlassAccess
from access.patient_portal import HistoryEntry
from access.selectors import SHARE_SEARCH_MIN_LENGTH, GrantRow
from access.serializers import PractitionerField
from access.sharing_forms import COMMENT_MAX_LENGTH
from audit.models import Rule
from establishments.models import Establishment
from imaging.models import ImagingStudy
from practitioners.models import Practitioner

QUERY_MAX_LENGTH = 100

# --- References --------------------------------------------------------------------------------


class MeEstablishmentSerializer(serializers.ModelSerializer[Establishment]):
    class Meta:
        model = Establishment
        fields = ("id", "name")
        read_only_fields = fields


class MePractitionerSerializer(serializers.ModelSerializer[Practitioner]):
    """A practitioner as the patient sees them: name, profession, specialty ("" if none)."""

    name = serializers.CharField(source="__str__", read_only=True)
    profession = serializers.CharField(source="profession_label", read_only=True)
    specialty = serializers.CharField(source="specialty_label", read_only=True)

    class Meta:
        model = Practitioner
        fields: tuple[str, ...] = ("id", "name", "profession", "specialty")
        read_only_fields: tuple[str, ...] = fields


# --- My studies --------------------------------------------------------------------------------


class MeStudySerializer(serializers.ModelSerializer[ImagingStudy]):
    establishment = MeEstablishmentSerializer(read_only=True)
    modalities = serializers.ListField(
        source="modality_list", child=serializers.CharField(), read_only=True
    )
    description = serializers.CharField(source="study_description", read_only=True)
    report_url = serializers.SerializerMethodField(
        help_text=_(
            "L'adresse de téléchargement du compte rendu (session du portail), null s'il "
            "n'est pas disponible."
        )
    )
    viewer = serializers.SerializerMethodField(
        help_text=_("L'archive de l'examen a une visionneuse configurée.")
    )

    class Meta:
        model = ImagingStudy
        fields = (
            "id",
            "study_date",
            "study_time",
            "establishment",
            "modalities",
            "description",
            "series_count",
            "instance_count",
            "report_available",
            "report_url",
            "viewer",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_report_url(self, study: ImagingStudy) -> str | None:
        if not study.report_available:
            return None
        url = reverse("patient_portal:report", args=[study.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(serializers.BooleanField())
    def get_viewer(self, study: ImagingStudy) -> bool:
        return bool(study.source is not None and study.source.viewer_url)


class MeStudiesSerializer(serializers.Serializer[Any]):
    results = MeStudySerializer(many=True, read_only=True)


# --- Who looked at my studies -----------------------------------------------------------------


def history_why(entry: HistoryEntry) -> str:
    """Why this person could see the patient's imaging, in a plain French sentence."""
    if entry.rule == Rule.CARE_TEAM:
        return gettext("Membre de l'équipe de soins de l'établissement qui a réalisé l'examen.")
    if entry.rule == Rule.GRANT:
        if entry.granted_by == "patient":
            return gettext("Vous lui avez donné accès à vos images.")
        if entry.granted_by:
            return gettext(
                "Accès ouvert par %(name)s, l'établissement qui a réalisé vos examens."
            ) % {"name": entry.granted_by}
        return gettext("Un accès à vos images lui avait été ouvert.")
    if entry.rule == Rule.BREAK_GLASS:
        return gettext(
            "Accès d'urgence, ouvert sans autorisation préalable avec une justification "
            "écrite ; un auditeur du réseau l'examine."
        )
    return str(dict(Rule.choices).get(entry.rule, entry.rule))


class MeHistoryPersonSerializer(serializers.Serializer[HistoryEntry]):
    """Who it was; profession and specialty are "" for someone not in the directory."""

    name = serializers.CharField(read_only=True)
    profession = serializers.CharField(
        source="practitioner.profession_label", default="", read_only=True
    )
    specialty = serializers.CharField(
        source="practitioner.specialty_label", default="", read_only=True
    )
    workplaces = serializers.ListField(child=serializers.CharField(), read_only=True)


class MeHistoryStudySerializer(serializers.ModelSerializer[ImagingStudy]):
    establishment = MeEstablishmentSerializer(read_only=True)
    modalities = serializers.ListField(
        source="modality_list", child=serializers.CharField(), read_only=True
    )
    description = serializers.CharField(source="study_description", read_only=True)

    class Meta:
        model = ImagingStudy
        fields = ("id", "study_date", "modalities", "description", "establishment")
        read_only_fields = fields


class MeHistoryEntrySerializer(serializers.Serializer[HistoryEntry]):
    day = serializers.DateField(read_only=True)
    first_at = serializers.DateTimeField(read_only=True)
    last_at = serializers.DateTimeField(read_only=True)
    rule = serializers.CharField(
        read_only=True,
        help_text=_(
            "La règle qui a permis l'accès : care_team (équipe de soins), grant (accès "
            "donné), break_glass (accès d'urgence)."
        ),
    )
    rule_label = serializers.SerializerMethodField()
    why = serializers.SerializerMethodField(
        help_text=_("Pourquoi cette personne a pu voir vos images, en une phrase.")
    )
    flagged = serializers.BooleanField(
        read_only=True, help_text=_("Accès d'urgence : à mettre en évidence.")
    )
    practitioner = MeHistoryPersonSerializer(source="*", read_only=True)
    studies = MeHistoryStudySerializer(many=True, read_only=True)
    looked_at_record = serializers.BooleanField(
        read_only=True,
        help_text=_("A consulté votre dossier sans examen précis (la liste de vos examens)."),
    )
    through_archive = serializers.BooleanField(
        read_only=True, help_text=_("A ouvert les images dans la visionneuse.")
    )
    granted_by = serializers.SerializerMethodField(
        help_text=_(
            "Pour un accès donné : « patient » si c'est vous, sinon le nom de "
            "l'établissement qui l'a ouvert ; null sinon."
        )
    )

    @extend_schema_field(serializers.CharField())
    def get_rule_label(self, entry: HistoryEntry) -> str:
        return str(dict(Rule.choices).get(entry.rule, entry.rule))

    @extend_schema_field(serializers.CharField())
    def get_why(self, entry: HistoryEntry) -> str:
        return history_why(entry)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_granted_by(self, entry: HistoryEntry) -> str | None:
        return entry.granted_by or None


class MeEmergencySerializer(serializers.ModelSerializer[BreakGlassAccess]):
    """An emergency access to the patient's record, announced until they acknowledge it."""

    practitioner = MePractitionerSerializer(read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    acknowledged_at = serializers.DateTimeField(
        source="patient_acknowledged_at", allow_null=True, read_only=True
    )

    class Meta:
        model = BreakGlassAccess
        fields = (
            "id",
            "practitioner",
            "category",
            "category_label",
            "opened_at",
            "expires_at",
            "acknowledged_at",
        )
        read_only_fields = fields


class MeHistorySerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField(
        read_only=True, help_text=_("La période couverte, en jours jusqu'à aujourd'hui.")
    )
    results = MeHistoryEntrySerializer(many=True, read_only=True)
    emergencies = MeEmergencySerializer(
        many=True,
        read_only=True,
        help_text=_("Les accès d'urgence dont vous n'avez pas encore pris connaissance."),
    )


# --- My grants ---------------------------------------------------------------------------------

GRANT_STATES = ("active", "suspended", "upcoming", "revoked", "expired")


class MeGrantSerializer(serializers.Serializer[GrantRow]):
    """An access to the patient's imaging, given by them or by an establishment, and its
    state."""

    # context["user"]: the patient's account, to tell the grants they gave themselves.

    id = serializers.IntegerField(source="grant.pk", read_only=True)
    practitioner = MePractitionerSerializer(source="grant.practitioner", read_only=True)
    reason = serializers.ChoiceField(
        source="grant.reason", choices=AccessGrant.Reason.choices, read_only=True
    )
    given_by_me = serializers.SerializerMethodField()
    establishment = MeEstablishmentSerializer(
        source="grant.establishment", allow_null=True, read_only=True
    )
    comment = serializers.SerializerMethodField(
        help_text=_("Votre commentaire, pour un accès que vous avez donné.")
    )
    valid_from = serializers.DateTimeField(source="grant.valid_from", read_only=True)
    valid_until = serializers.DateTimeField(source="grant.valid_until", read_only=True)
    revoked_at = serializers.DateTimeField(
        source="grant.revoked_at", allow_null=True, read_only=True
    )
    state = serializers.ChoiceField(
        choices=[(state, state) for state in GRANT_STATES],
        read_only=True,
        help_text=_(
            "active (en cours), suspended (suspendu par votre opposition), upcoming (à venir), "
            "revoked (retiré), expired (terminé)."
        ),
    )
    revocable = serializers.BooleanField(read_only=True)

    def _given_by_me(self, row: GrantRow) -> bool:
        return row.grant.granted_by_id == self.context["user"].pk

    @extend_schema_field(serializers.BooleanField())
    def get_given_by_me(self, row: GrantRow) -> bool:
        return self._given_by_me(row)

    @extend_schema_field(serializers.CharField())
    def get_comment(self, row: GrantRow) -> str:
        # Staff's comments on a referral are theirs; the page does not show them either.
        return row.grant.comment if self._given_by_me(row) else ""


class MeGrantsSerializer(serializers.Serializer[Any]):
    results = MeGrantSerializer(many=True, read_only=True)


class MeGrantCreateSerializer(serializers.Serializer[Any]):
    """A grant the patient gives, as on the page: until a day, included (the access ends at
    the following midnight, Paris time)."""

    practitioner = PractitionerField(
        help_text=_("Identifiant (nombre) tiré de la recherche de professionnels, ou RPPS.")
    )
    last_day = serializers.DateField(
        help_text=_("Dernier jour de l'accès, inclus (AAAA-MM-JJ)."),
        error_messages={"invalid": _("Indiquez une date au format AAAA-MM-JJ.")},
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=COMMENT_MAX_LENGTH
    )


# --- My opposition -----------------------------------------------------------------------------


def opposition_effects(*, opposed: bool) -> list[str]:
    """What the change the patient may confirm next does: opposing, or withdrawing."""
    if opposed:
        return [
            gettext(
                "Aujourd'hui, seules les équipes de soins des établissements où vos examens "
                "ont été faits voient vos images, personne d'autre, même en urgence."
            ),
            gettext(
                "Si vous retirez votre opposition, les accès que vous ou les établissements "
                "avez donnés et qui n'ont pas pris fin s'appliquent de nouveau."
            ),
            gettext("Un professionnel pourra de nouveau ouvrir un accès d'urgence à vos images."),
        ]
    return [
        gettext(
            "Les équipes de soins des établissements où vos examens ont été faits continuent "
            "de les voir : elles vous soignent."
        ),
        gettext(
            "Aucun autre professionnel ne peut les voir, ni votre médecin traitant, ni en "
            "urgence : l'accès d'urgence est refusé."
        ),
        gettext(
            "Les accès déjà donnés sont suspendus, pas supprimés : ils reprennent si vous "
            "retirez votre opposition, jusqu'à leur date de fin."
        ),
        gettext("Vous pouvez retirer votre opposition à tout moment."),
    ]


class MeOppositionSerializer(serializers.Serializer[Any]):
    opposed = serializers.BooleanField(read_only=True)
    since = serializers.DateTimeField(allow_null=True, read_only=True)
    producing_establishments = MeEstablishmentSerializer(
        many=True,
        read_only=True,
        help_text=_("Les établissements où vos examens ont été faits : leurs équipes de soins."),
    )
    effects = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text=_(
            "Ce que fait le changement à confirmer : vous opposer si vous ne vous opposez "
            "pas, retirer votre opposition sinon. À montrer avant de confirmer."
        ),
    )


class MeOppositionChangeSerializer(serializers.Serializer[Any]):
    opposed = serializers.BooleanField(
        help_text=_("true : je m'oppose au partage ; false : je retire mon opposition.")
    )
    confirm = serializers.BooleanField(
        help_text=_("true : j'ai lu les effets de ce choix (« effects »)."),
        error_messages={"required": _("Confirmez votre choix après en avoir lu les effets.")},
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                _("Confirmez votre choix après en avoir lu les effets.")
            )
        return value


# --- The practitioner directory ----------------------------------------------------------------


class MePractitionerQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        max_length=QUERY_MAX_LENGTH,
        help_text=_("Nom ou prénom du professionnel."),
    )

    def validate_q(self, value: str) -> str:
        if len(value) < SHARE_SEARCH_MIN_LENGTH:
            raise serializers.ValidationError(
                ngettext(
                    "Saisissez au moins %(count)d lettre du nom.",
                    "Saisissez au moins %(count)d lettres du nom.",
                    SHARE_SEARCH_MIN_LENGTH,
                )
                % {"count": SHARE_SEARCH_MIN_LENGTH}
            )
        return value


class MeCandidateSerializer(MePractitionerSerializer):
    """An accredited practitioner of the directory, with where they practise."""

    workplaces = serializers.SerializerMethodField()

    class Meta(MePractitionerSerializer.Meta):
        fields = (*MePractitionerSerializer.Meta.fields, "workplaces")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_workplaces(self, practitioner: Practitioner) -> list[str]:
        return [site.label for site in getattr(practitioner, "active_sites", [])]


class MeCandidatesSerializer(serializers.Serializer[Any]):
    results = MeCandidateSerializer(many=True, read_only=True)
    truncated = serializers.BooleanField(
        read_only=True, help_text=_("La liste est coupée : précisez le nom.")
    )
