"""API representations of establishments; identifiers validated by ``portal.identifiers``."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from establishments.models import Establishment
from portal.identifiers import validate_finess, validate_siret


def _drf(validator: Callable[[str], str], value: str) -> str:
    """Run a ``portal.identifiers`` validator, turning its error into DRF's."""
    try:
        return str(validator(value))
    except DjangoValidationError as error:
        raise serializers.ValidationError(list(error.messages), code=error.code) from error


class EstablishmentSerializer(serializers.ModelSerializer[Establishment]):
    """An establishment of the network. ``status`` is read-only here: it moves through the
    status page (regional administrators) and through billing."""

    # Declared so that identifiers may arrive with spaces ("772 201 489 00022"); they are
    # validated and normalised below, uniqueness by the service.
    finess_eg = serializers.CharField(max_length=12)
    finess_ej = serializers.CharField(max_length=12, required=False, allow_blank=True)
    siret = serializers.CharField(max_length=20, required=False, allow_blank=True)

    class Meta:
        model = Establishment
        fields = (
            "id",
            "finess_eg",
            "finess_ej",
            "siret",
            "name",
            "kind",
            "address",
            "postal_code",
            "city",
            "department",
            "ght",
            "status",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "status", "created_at", "updated_at")

    def validate_finess_eg(self, value: str) -> str:
        return _drf(validate_finess, value)

    def validate_finess_ej(self, value: str) -> str:
        return _drf(validate_finess, value) if value.strip() else ""

    def validate_siret(self, value: str) -> str:
        return _drf(validate_siret, value) if value.strip() else ""

    def validate_postal_code(self, value: str) -> str:
        value = value.strip()
        if value and not (len(value) == 5 and value.isascii() and value.isdigit()):
            raise serializers.ValidationError(_("Le code postal doit comporter 5 chiffres."))
        return value
