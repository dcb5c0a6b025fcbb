"""Serializers of the practitioners API: accreditation requests and the directory.

Input serializers shape the data; the checks of a request are the service's
(``accreditation_request_check``), reported field by field as HTTP 400.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from practitioners.models import (
    AccreditationRequest,
    AccreditationRequestSite,
    IdentifierType,
    PracticeSite,
    Practitioner,
    Profession,
    Specialty,
)
from practitioners.services import AccreditationRequestData, CityPractice


def as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ``ValidationError`` as DRF's, field by field (non-field errors under
    ``non_field_errors``)."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(
            {
                (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): messages
                for key, messages in error.message_dict.items()
            }
        )
    return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})


class RequestSiteSerializer(serializers.ModelSerializer[AccreditationRequestSite]):
    establishment_name = serializers.CharField(
        source="establishment.name", default="", read_only=True
    )

    class Meta:
        model = AccreditationRequestSite
        fields = [
            "id",
            "establishment",
            "establishment_name",
            "practice_name",
            "address",
            "postal_code",
            "city",
            "decision",
            "reason",
            "decided_at",
        ]
        read_only_fields = fields


class AccreditationRequestSerializer(serializers.ModelSerializer[AccreditationRequest]):
    sites = RequestSiteSerializer(many=True, read_only=True)
    valid_until = serializers.DateField(
        source="accreditation.valid_until", default=None, read_only=True
    )

    class Meta:
        model = AccreditationRequest
        fields = [
            "id",
            "status",
            "identifier_type",
            "identifier",
            "last_name",
            "first_name",
            "profession_code",
            "specialty_code",
            "email",
            "phone",
            "purpose",
            "pending_question",
            "sites",
            "valid_until",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


class CityPracticeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, label=_("Nom du cabinet"))
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    postal_code = serializers.RegexField(
        r"^\d{5}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("Le code postal doit comporter 5 chiffres.")},
    )
    city = serializers.CharField(max_length=100, label=_("Commune"))


class AccreditationRequestCreateSerializer(serializers.Serializer[Any]):
    identifier_type = serializers.ChoiceField(choices=IdentifierType.choices)
    identifier = serializers.CharField(max_length=20)
    last_name = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150)
    profession_code = serializers.ChoiceField(choices=Profession.choices)
    specialty_code = serializers.ChoiceField(
        choices=Specialty.choices, required=False, allow_blank=True, default=""
    )
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    purpose = serializers.CharField()
    establishments = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    city_practices = CityPracticeSerializer(many=True, required=False, default=list)

    def to_data(self) -> AccreditationRequestData:
        data = self.validated_data
        return AccreditationRequestData(
            identifier_type=data["identifier_type"],
            identifier=data["identifier"],
            last_name=data["last_name"],
            first_name=data["first_name"],
            profession_code=data["profession_code"],
            specialty_code=data.get("specialty_code", ""),
            email=data["email"],
            phone=data.get("phone", ""),
            purpose=data["purpose"],
            establishment_ids=tuple(data.get("establishments", [])),
            city_practices=tuple(CityPractice(**item) for item in data.get("city_practices", [])),
        )


class RejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        error_messages={
            "required": _("Le motif du refus est obligatoire."),
            "blank": _("Le motif du refus est obligatoire."),
        }
    )


class AskInfoSerializer(serializers.Serializer[Any]):
    message = serializers.CharField(
        error_messages={
            "required": _("Précisez le complément attendu."),
            "blank": _("Précisez le complément attendu."),
        }
    )


class ProvideInfoSerializer(serializers.Serializer[Any]):
    answer = serializers.CharField(
        error_messages={
            "required": _("Votre réponse est vide."),
            "blank": _("Votre réponse est vide."),
        }
    )


class DirectorySiteSerializer(serializers.ModelSerializer[PracticeSite]):
    establishment_name = serializers.CharField(
        source="establishment.name", default="", read_only=True
    )

    class Meta:
        model = PracticeSite
        fields = [
            "establishment",
            "establishment_name",
            "practice_name",
            "city",
            "department",
            "phone",
            "mobile",
        ]
        read_only_fields = fields


class DirectoryPractitionerSerializer(serializers.ModelSerializer[Practitioner]):
    profession_label = serializers.CharField(read_only=True)
    specialty_label = serializers.CharField(read_only=True)
    sites = DirectorySiteSerializer(source="active_sites", many=True, read_only=True)

    class Meta:
        model = Practitioner
        fields = [
            "id",
            "first_name",
            "last_name",
            "profession_code",
            "profession_label",
            "specialty_code",
            "specialty_label",
            "email",
            "phone",
            "mobile",
            "sites",
        ]
        read_only_fields = fields


class DirectoryQuerySerializer(serializers.Serializer[Any]):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    specialty = serializers.ChoiceField(
        choices=Specialty.choices, required=False, allow_blank=True, default=""
    )
    establishment = serializers.IntegerField(required=False, min_value=1, allow_null=True)
