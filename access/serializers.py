"""Serializers of the access API: grants, emergency accesses and the access trail.

Input serializers shape the data and find the rows it names; the rules are the services'
(``access.services``), whose refusals the API reports field by field as HTTP 400. Patients
appear by their internal id only: no name, no INS.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access import selectors
from access.models import AccessGrant, BreakGlassAccess
from audit import chain
from audit.models import AccessEvent, Channel, Rule
from establishments.models import Establishment
from imaging.models import Patient
from practitioners.models import Practitioner

# --- References --------------------------------------------------------------------------------


class AccessPractitionerSerializer(serializers.ModelSerializer[Practitioner]):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Practitioner
        fields = ("id", "rpps", "name")
        read_only_fields = fields


class SharingEstablishmentSerializer(serializers.ModelSerializer[Establishment]):
    class Meta:
        model = Establishment
        fields = ("id", "finess_eg", "name")
        read_only_fields = fields


def _name(user: Any) -> str | None:
    return user.get_full_name() or user.email if user is not None else None


# --- Grants ------------------------------------------------------------------------------------


class AccessGrantSerializer(serializers.ModelSerializer[AccessGrant]):
    practitioner = AccessPractitionerSerializer(read_only=True)
    establishment = SharingEstablishmentSerializer(read_only=True, allow_null=True)
    granted_by = serializers.SerializerMethodField()
    revoked_by = serializers.SerializerMethodField()
    active = serializers.SerializerMethodField()

    class Meta:
        model = AccessGrant
        fields = (
            "id",
            "practitioner",
            "patient",
            "reason",
            "comment",
            "granted_by",
            "establishment",
            "valid_from",
            "valid_until",
            "revoked_at",
            "revoked_by",
            "revocation_reason",
            "active",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_granted_by(self, grant: AccessGrant) -> str | None:
        return _name(grant.granted_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_revoked_by(self, grant: AccessGrant) -> str | None:
        return _name(grant.revoked_by)

    @extend_schema_field(serializers.BooleanField())
    def get_active(self, grant: AccessGrant) -> bool:
        return grant.is_active()


class GrantListQuerySerializer(serializers.Serializer[Any]):
    patient = serializers.IntegerField(required=False, min_value=1)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\d{11}$"}]})
class PractitionerField(serializers.Field):
    """A practitioner by internal id (a number) or by RPPS (a string of 11 digits)."""

    default_error_messages = {
        "unknown": _("Aucun professionnel ne correspond à cet identifiant ou à ce RPPS."),
    }

    def to_internal_value(self, data: Any) -> Practitioner:
        found = None
        if isinstance(data, int) and not isinstance(data, bool):
            found = Practitioner.objects.filter(pk=data).select_related("user").first()
        elif isinstance(data, str) and data.strip().isascii() and data.strip().isdigit():
            value = data.strip()
            lookup = {"rpps": value} if len(value) == 11 else {"pk": int(value)}
            found = Practitioner.objects.filter(**lookup).select_related("user").first()
        if found is None:
            self.fail("unknown")
        return found

    def to_representation(self, value: Practitioner) -> int:
        return value.pk


class GrantCreateSerializer(serializers.Serializer[Any]):
    """A grant to create. ``patient`` must be one whose grants the caller manages (a patient
    they may not share and a patient that does not exist get the same answer)."""

    patient = serializers.IntegerField(min_value=1)
    practitioner = PractitionerField()
    reason = serializers.ChoiceField(
        choices=AccessGrant.Reason.choices,
        error_messages={"invalid_choice": _("Choisissez le motif du partage.")},
    )
    valid_until = serializers.DateTimeField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    establishment = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    def validate_patient(self, value: int) -> Patient:
        patient = Patient.objects.filter(pk=value).first()
        if patient is None or not selectors.can_manage_grants_of(
            user=self.context["user"], patient=patient
        ):
            raise serializers.ValidationError(
                _("Aucun dossier patient que vous pouvez partager ne porte cet identifiant.")
            )
        return patient

    def validate_establishment(self, value: int | None) -> Establishment | None:
        if value is None:
            return None
        establishment = Establishment.objects.filter(pk=value).first()
        if establishment is None:
            raise serializers.ValidationError(
                _("Choisissez l'établissement au nom duquel vous partagez.")
            )
        return establishment


class GrantRevokeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


# --- Emergency accesses ------------------------------------------------------------------------


class BreakGlassOpenSerializer(serializers.Serializer[Any]):
    patient = serializers.IntegerField(min_value=1)
    category = serializers.ChoiceField(
        choices=BreakGlassAccess.Category.choices,
        error_messages={"invalid_choice": _("Choisissez le type d'urgence.")},
    )
    # Blank is let through so that the service's message gives the minimum length.
    justification = serializers.CharField(allow_blank=True, max_length=5000)

    def validate_patient(self, value: int) -> Patient:
        # An emergency access is precisely for a patient the practitioner has no right on:
        # the only check here is that the record exists.
        patient = Patient.objects.filter(pk=value).first()
        if patient is None:
            raise serializers.ValidationError(_("Aucun dossier patient ne porte cet identifiant."))
        return patient


class BreakGlassOpenedSerializer(serializers.ModelSerializer[BreakGlassAccess]):
    class Meta:
        model = BreakGlassAccess
        fields = ("id", "patient", "category", "opened_at", "expires_at")
        read_only_fields = fields


class BreakGlassSerializer(serializers.ModelSerializer[BreakGlassAccess]):
    """One of the caller's own emergency accesses, with the auditor's verdict once given."""

    active = serializers.SerializerMethodField()

    class Meta:
        model = BreakGlassAccess
        fields: tuple[str, ...] = (
            "id",
            "patient",
            "category",
            "justification",
            "opened_at",
            "expires_at",
            "active",
            "review",
            "reviewed_at",
            "review_comment",
        )
        read_only_fields: tuple[str, ...] = fields

    @extend_schema_field(serializers.BooleanField())
    def get_active(self, access: BreakGlassAccess) -> bool:
        return access.is_active()


class BreakGlassReviewItemSerializer(BreakGlassSerializer):
    """An emergency access as the auditors review it: who opened it, from where, and the
    verdict."""

    practitioner = AccessPractitionerSerializer(read_only=True)
    user = serializers.SerializerMethodField()
    reviewed_by = serializers.SerializerMethodField()

    class Meta(BreakGlassSerializer.Meta):
        fields = (
            *BreakGlassSerializer.Meta.fields,
            "practitioner",
            "user",
            "source_ip",
            "reviewed_by",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_user(self, access: BreakGlassAccess) -> str | None:
        return _name(access.user)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reviewed_by(self, access: BreakGlassAccess) -> str | None:
        return _name(access.reviewed_by)


class ReviewQueueQuerySerializer(serializers.Serializer[Any]):
    review = serializers.ChoiceField(
        choices=BreakGlassAccess.Review.choices, required=False, allow_blank=True, default=""
    )


class BreakGlassReviewSerializer(serializers.Serializer[Any]):
    justified = serializers.BooleanField()
    # Blank is let through so that the service's message explains what is expected.
    comment = serializers.CharField(allow_blank=True, max_length=5000)


# --- The access trail --------------------------------------------------------------------------


class AccessEventSerializer(serializers.ModelSerializer[AccessEvent]):
    class Meta:
        model = AccessEvent
        # Every hashed field (``prev_hash`` last), then the row's own hash.
        fields = ("id", *chain.FIELDS, "hash")
        read_only_fields = fields


class AuditEventQuerySerializer(serializers.Serializer[Any]):
    """Filters of the trail; every one optional, a malformed one is a 400 on its name."""

    patient = serializers.IntegerField(required=False, min_value=1)
    actor = serializers.IntegerField(required=False, min_value=1)
    establishment = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    granted = serializers.BooleanField(required=False, allow_null=True, default=None)
    rule = serializers.ChoiceField(choices=Rule.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError(
                {"until": _("La fin de la période précède son début.")}
            )
        return attrs
