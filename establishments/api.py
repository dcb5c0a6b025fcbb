"""REST API of establishments (``/api/v1/establishments/``).

Regional administrators read and write every establishment; directors and referents read the
establishments they act for; anyone else is refused. An establishment outside the caller's
reach answers 404, so that its existence is not revealed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

from establishments.models import Establishment
from establishments.selectors import establishment_filter, establishments_visible_to
from establishments.serializers import EstablishmentSerializer
from establishments.services import establishment_create, establishment_update
from portal.roles import HasRole, Role

_WRITE_ACTIONS = {"create", "partial_update", "update"}


def _as_drf_error(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": list(error.messages)})


@extend_schema_view(
    list=extend_schema(
        summary="Lister les établissements",
        description=(
            "Administration régionale : tous les établissements ; direction et référents : "
            "ceux de leurs rattachements. Les autres rôles reçoivent 403."
        ),
        parameters=[
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description="Nom, numéro FINESS (début) ou commune ; chaque mot doit correspondre.",
            ),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=Establishment.Status.values,
                description="Statut dans le réseau.",
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="Lire un établissement",
        description="404 pour un établissement hors de portée de l'utilisateur.",
    ),
    create=extend_schema(
        summary="Ajouter un établissement (administration régionale)",
        description=(
            "Créé comme prospect. Les numéros FINESS et SIRET sont vérifiés (clé de Luhn) ; "
            "400 avec les erreurs par champ."
        ),
    ),
    partial_update=extend_schema(
        summary="Corriger un établissement (administration régionale)",
        description="Le statut ne se modifie pas ici. 400 avec les erreurs par champ.",
    ),
)
class EstablishmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Establishment],
):
    serializer_class = EstablishmentSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self) -> list[BasePermission]:
        if self.action in _WRITE_ACTIONS:
            return [HasRole.of(Role.REGIONAL_ADMIN)()]
        return [HasRole.of(Role.REGIONAL_ADMIN, Role.DIRECTOR, Role.REFERENT)()]

    def get_queryset(self) -> QuerySet[Establishment]:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no real user
            return Establishment.objects.none()
        queryset = establishments_visible_to(user=self.request.user)  # type: ignore[arg-type]
        if self.action != "list":
            return queryset
        status = self.request.query_params.get("status", "")
        if status and status not in Establishment.Status.values:
            message = _("Statut inconnu : %(status)s.") % {"status": status}
            raise ValidationError({"status": [message]})
        return establishment_filter(
            queryset, query=self.request.query_params.get("search", ""), status=status
        )

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = establishment_create(**serializer.validated_data)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = establishment_update(
                establishment=serializer.instance,
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error
