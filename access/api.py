"""REST endpoints of the access app, mounted under /api/v1/.

- ``grants/``: the grants the caller gave, holds, or (with ``?patient=``) manages; creating one
  (staff of a producing establishment, or the patient) and ``{id}/revoke/``. A grant the caller
  may not see answers 404; one they see (as its holder) but may not revoke, 403.
- ``break-glass/``: an accredited practitioner opens emergency access, having confirmed their
  identity (second factor, recent re-authentication), and lists their own; auditors read
  ``review-queue/`` and give their verdict through ``{id}/review/``.
- ``audit-events/``: the access trail, for auditors only, newest first, by cursor.

Patients appear by internal id only. None of these endpoints shows imaging: that goes through
``access.decide``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from access import selectors, services, trail
from access.decision import decide
from access.models import AccessGrant, BreakGlassAccess
from access.permissions import ConfirmedIdentity, IsAuditor, IsPractitioner, MayShare
from access.serializers import (
    AccessEventSerializer,
    AccessGrantSerializer,
    AuditEventQuerySerializer,
    BreakGlassOpenedSerializer,
    BreakGlassOpenSerializer,
    BreakGlassReviewItemSerializer,
    BreakGlassReviewSerializer,
    BreakGlassSerializer,
    GrantCreateSerializer,
    GrantListQuerySerializer,
    GrantRevokeSerializer,
    ReviewQueueQuerySerializer,
)
from audit.models import AccessEvent, Action, Channel, Rule
from imaging.models import Patient
from portal.http import client_ip, signed_in_user
from practitioners.serializers import as_drf_error

_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description="Erreurs par champ.")


def _refused(error: DjangoPermissionDenied) -> PermissionDenied:
    return PermissionDenied(str(error) or None)


def _conflict(error: DjangoValidationError) -> Response:
    """A service's refusal: field errors are bad input (400), the state of the object (already
    revoked, already reviewed) is a conflict (409), as elsewhere in the API."""
    if hasattr(error, "error_dict"):
        raise as_drf_error(error)
    return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)


def _own_grants(user: Any) -> Q:
    """Grants the caller gave, holds, or that are on their own patient record."""
    return Q(granted_by=user) | Q(practitioner__user=user) | Q(patient__user=user)


def _grants_visible_to(user: Any, *, patient_id: int | None) -> QuerySet[AccessGrant]:
    """The caller's own grants and, narrowed to one patient whose grants they manage, every
    grant on that patient. A patient they may not manage (or no patient at all) narrows the
    list to their own grants on it: the answer never tells whether the id exists."""
    queryset = AccessGrant.objects.select_related(
        "practitioner", "granted_by", "revoked_by", "establishment"
    ).order_by("-valid_from", "-id")
    if patient_id is None:
        return queryset.filter(_own_grants(user))
    queryset = queryset.filter(patient_id=patient_id)
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is not None and selectors.can_manage_grants_of(user=user, patient=patient):
        return queryset
    return queryset.filter(_own_grants(user))


def _grant_visible_to(user: Any, *, pk: int) -> AccessGrant | None:
    grant = (
        AccessGrant.objects.filter(pk=pk)
        .select_related("practitioner", "granted_by", "revoked_by", "establishment", "patient")
        .first()
    )
    if grant is None:
        return None
    mine = grant.granted_by_id == user.pk or grant.practitioner.user_id == user.pk
    if mine or selectors.can_manage_grants_of(user=user, patient=grant.patient):
        return grant
    return None


class GrantViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[AccessGrant]):
    serializer_class = AccessGrantSerializer
    # For the schema (path parameter type); every lookup goes through _grant_visible_to.
    queryset = AccessGrant.objects.none()
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [MayShare()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[AccessGrant]:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no real user
            return AccessGrant.objects.none()
        query = GrantListQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return _grants_visible_to(
            signed_in_user(self.request), patient_id=query.validated_data.get("patient")
        )

    @extend_schema(
        summary="Lister les autorisations d'accès",
        description=(
            "Celles que vous avez données, celles que vous détenez et celles qui portent sur "
            "votre propre dossier. Avec « patient », celles de ce patient si vous gérez ses "
            "accès (équipe ou référent d'un établissement producteur, le patient lui-même) ; "
            "sinon, vos seules autorisations sur ce patient."
        ),
        parameters=[
            OpenApiParameter(
                "patient", OpenApiTypes.INT, description="Identifiant interne du patient."
            )
        ],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Donner accès à un patient",
        description=(
            "Par l'équipe de soins ou un référent d'un établissement producteur, au nom de "
            "celui-ci, à un professionnel habilité ; ou par le patient lui-même (motif "
            "« patient_choice »). « practitioner » : identifiant interne (nombre) ou RPPS "
            "(11 chiffres). Un patient que vous ne pouvez pas partager et un identifiant "
            "inconnu reçoivent la même erreur 400 sur « patient »."
        ),
        request=GrantCreateSerializer,
        responses={201: AccessGrantSerializer, 400: _ERRORS, 403: None},
    )
    def create(self, request: Request) -> Response:
        user = signed_in_user(request)
        serializer = GrantCreateSerializer(data=request.data, context={"user": user})
        serializer.is_valid(raise_exception=True)
        try:
            grant = services.grant_create(by=user, **serializer.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        except DjangoPermissionDenied as error:
            raise _refused(error) from error
        return Response(AccessGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Révoquer une autorisation d'accès",
        description=(
            "Effet immédiat : la décision d'accès suivante refuse. 404 pour une autorisation "
            "que vous ne voyez pas ; 403 si vous la voyez sans pouvoir la révoquer (son "
            "détenteur) ; 409 si elle est déjà révoquée ou terminée."
        ),
        request=GrantRevokeSerializer,
        responses={200: AccessGrantSerializer, 400: _ERRORS, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        user = signed_in_user(request)
        grant = _grant_visible_to(user, pk=int(pk))
        if grant is None:
            raise Http404
        if not selectors.can_revoke_grant(user=user, grant=grant):
            raise PermissionDenied
        serializer = GrantRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            revoked = services.grant_revoke(
                by=user, grant=grant, reason=serializer.validated_data["reason"]
            )
        except DjangoValidationError as error:
            return _conflict(error)
        except DjangoPermissionDenied as error:
            raise _refused(error) from error
        return Response(AccessGrantSerializer(revoked).data)


class BreakGlassViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[BreakGlassAccess]):
    serializer_class = BreakGlassSerializer
    queryset = BreakGlassAccess.objects.none()
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [IsPractitioner(), ConfirmedIdentity()]
        if self.action in ("review_queue", "review"):
            return [IsAuditor()]
        return [IsAuthenticated()]

    def get_serializer_class(self) -> Any:
        if self.action == "review_queue":
            return BreakGlassReviewItemSerializer
        return BreakGlassSerializer

    def get_queryset(self) -> QuerySet[BreakGlassAccess]:
        if getattr(self, "swagger_fake_view", False):
            return BreakGlassAccess.objects.none()
        if self.action == "review_queue":
            query = ReviewQueueQuerySerializer(data=self.request.query_params.dict())
            query.is_valid(raise_exception=True)
            return selectors.break_glass_queue(review=query.validated_data["review"])
        return selectors.break_glass_of_user(user=signed_in_user(self.request))

    @extend_schema(
        summary="Mes accès d'urgence",
        description="Les accès d'urgence que vous avez ouverts, avec l'avis de l'auditeur.",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Ouvrir un accès d'urgence (bris de glace)",
        description=(
            "Pour un professionnel habilité, sans autre droit sur ce patient, en urgence. "
            "Il faut une double authentification active et avoir confirmé son identité sur "
            "le portail dans les dernières minutes (403 sinon, avec l'adresse de la page de "
            "confirmation dans « reauthenticate_url »). Justification d'une longueur minimale "
            "et type d'urgence ; l'accès dure un temps limité, il est signalé à l'auditeur et "
            "au patient. Refusé (400) si le patient s'oppose au partage."
        ),
        request=BreakGlassOpenSerializer,
        responses={201: BreakGlassOpenedSerializer, 400: _ERRORS, 403: None},
    )
    def create(self, request: Request) -> Response:
        serializer = BreakGlassOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = signed_in_user(request)
        # Emergency access is for those without a right: the decision (traced) tells.
        decision = decide(
            user=user,
            patient=serializer.validated_data["patient"],
            action=Action.READ,
            channel=Channel.API,
            request=request._request,
        )
        if decision.granted and not decision.flagged:
            raise ValidationError(
                {
                    "patient": [
                        _("Vous avez déjà accès à ce patient : un accès d'urgence est inutile.")
                    ]
                }
            )
        try:
            access = services.break_glass_open(
                user=user,
                source_ip=client_ip(request._request),
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        except DjangoPermissionDenied as error:
            raise _refused(error) from error
        return Response(BreakGlassOpenedSerializer(access).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="File d'examen des accès d'urgence (auditeurs)",
        description="Les plus anciens d'abord. 403 pour tout autre rôle.",
        responses=BreakGlassReviewItemSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "review",
                OpenApiTypes.STR,
                enum=BreakGlassAccess.Review.values,
                description="Filtrer par état de l'examen (pending : à examiner).",
            )
        ],
    )
    @action(detail=False, methods=["get"], url_path="review-queue")
    def review_queue(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(
        summary="Examiner un accès d'urgence (auditeurs)",
        description=(
            "Justifié ou non, avec un commentaire. 403 pour tout autre rôle et pour l'auteur "
            "de l'accès ; 409 s'il a déjà été examiné."
        ),
        request=BreakGlassReviewSerializer,
        responses={
            200: BreakGlassReviewItemSerializer,
            400: _ERRORS,
            403: None,
            404: None,
            409: None,
        },
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        access = selectors.break_glass_queue().filter(pk=int(pk)).first()
        if access is None:
            raise Http404
        serializer = BreakGlassReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            reviewed = services.break_glass_review(
                by=signed_in_user(request), access=access, **serializer.validated_data
            )
        except DjangoValidationError as error:
            return _conflict(error)
        except DjangoPermissionDenied as error:
            raise _refused(error) from error
        return Response(BreakGlassReviewItemSerializer(reviewed).data)


class _TrailCursor(CursorPagination):
    # A cursor, not page numbers: counting a trail of millions of rows on every page would
    # cost more than the page itself.
    ordering = ("-recorded_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _audit_events(filters: dict[str, Any]) -> QuerySet[AccessEvent]:
    """The trail narrowed by the auditor's filters, through the reader of the auditors' screens;
    the API's period is finer than theirs: instants, ``recorded_at`` in [since, until)."""
    decision = {None: "", True: trail.GRANTED, False: trail.REFUSED}[filters.get("granted")]
    events = trail.events_matching(
        criteria=trail.TrailCriteria(
            patient_ids=(filters["patient"],) if "patient" in filters else (),
            actor_id=filters.get("actor"),
            establishment_ids=(filters["establishment"],) if "establishment" in filters else (),
            decision=decision,
            rule=filters.get("rule", ""),
            channel=filters.get("channel", ""),
        )
    )
    if "since" in filters:
        events = events.filter(recorded_at__gte=filters["since"])
    if "until" in filters:
        events = events.filter(recorded_at__lt=filters["until"])
    return events


@extend_schema(
    summary="Traces d'accès (auditeurs)",
    description=(
        "Une trace par décision d'accès, des plus récentes aux plus anciennes, avec leur "
        "chaînage (chain_seq, prev_hash, hash). Pagination par curseur (« next », "
        "« previous »). Une date sans fuseau horaire est lue à l'heure de Paris. 403 pour "
        "tout autre rôle ; 400 avec les erreurs par filtre."
    ),
    parameters=[
        OpenApiParameter("patient", OpenApiTypes.INT, description="Identifiant du patient."),
        OpenApiParameter("actor", OpenApiTypes.INT, description="Identifiant de l'utilisateur."),
        OpenApiParameter(
            "establishment", OpenApiTypes.INT, description="Établissement producteur."
        ),
        OpenApiParameter(
            "since", OpenApiTypes.DATETIME, description="À partir de (ISO 8601, inclus)."
        ),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="Avant (ISO 8601, exclu)."),
        OpenApiParameter("granted", OpenApiTypes.BOOL, description="Accordé (true) ou refusé."),
        OpenApiParameter(
            "rule", OpenApiTypes.STR, enum=Rule.values, description="Règle qui a décidé."
        ),
        OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values, description="Canal."),
    ],
)
class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[AccessEvent]):
    serializer_class = AccessEventSerializer
    permission_classes = [IsAuditor]
    pagination_class = _TrailCursor

    def get_queryset(self) -> QuerySet[AccessEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AccessEvent.objects.none()
        query = AuditEventQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return _audit_events(query.validated_data)
