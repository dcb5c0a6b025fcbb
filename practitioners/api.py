"""REST endpoints of the practitioners app: accreditation requests and the directory.

- ``/api/v1/accreditation-requests/``: anyone signed in creates their own request (400 with
  errors per field) and reads their own; reviewers also list and read the requests they may
  review (``?scope=mine`` or ``?scope=review`` narrows the list) and act on them through
  ``approve/``, ``request-info/`` and ``reject/``; the applicant answers through
  ``provide-info/``. A request the user may not see answers 404; one they see but may not
  decide, 403; one that is not awaiting that action, 409.
- ``/api/v1/practitioners/``: the directory of accredited practitioners, for practitioners,
  referents and regional administrators.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from portal.models import User
from portal.roles import HasRole, Role
from practitioners.models import AccreditationRequest, Practitioner, Specialty
from practitioners.selectors import (
    can_review_request,
    directory_search,
    request_visible_to,
    requests_of,
    requests_reviewable_by,
)
from practitioners.serializers import (
    AccreditationRequestCreateSerializer,
    AccreditationRequestSerializer,
    AskInfoSerializer,
    DirectoryPractitionerSerializer,
    DirectoryQuerySerializer,
    ProvideInfoSerializer,
    RejectSerializer,
    as_drf_error,
)
from practitioners.services import (
    accreditation_request_approve,
    accreditation_request_ask_info,
    accreditation_request_provide_info,
    accreditation_request_reject,
    accreditation_request_submit,
)


def _conflict_or_invalid(error: DjangoValidationError) -> Response:
    """Field errors are bad input (400); a request in the wrong state is a conflict (409)."""
    if hasattr(error, "error_dict"):
        raise as_drf_error(error)
    return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/")


class AccreditationRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AccreditationRequest]
):
    serializer_class = AccreditationRequestSerializer
    # For the schema (path parameter type); every lookup goes through the selectors.
    queryset = AccreditationRequest.objects.none()
    lookup_value_regex = r"\d+"

    def _user(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user

    def get_queryset(self) -> QuerySet[AccreditationRequest]:
        user = self._user()
        scope = self.request.query_params.get("scope", "")
        mine = requests_of(user=user)
        if scope == "mine":
            return mine
        reviewable = requests_reviewable_by(user=user)
        if scope == "review":
            return reviewable.order_by("-created_at")
        return (
            AccreditationRequest.objects.filter(Q(user=user) | Q(pk__in=reviewable.values("pk")))
            .prefetch_related("sites__establishment")
            .select_related("accreditation")
            .order_by("-created_at")
        )

    def get_object(self) -> AccreditationRequest:
        found = request_visible_to(user=self._user(), pk=int(self.kwargs["pk"]))
        if found is None:
            raise Http404
        return found

    def _reviewed(self) -> AccreditationRequest:
        accreditation_request = self.get_object()
        if not can_review_request(user=self._user(), request=accreditation_request):
            raise PermissionDenied
        return accreditation_request

    def _answer(self, accreditation_request: AccreditationRequest) -> Response:
        fresh = request_visible_to(user=self._user(), pk=accreditation_request.pk)
        return Response(AccreditationRequestSerializer(fresh).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "scope",
                OpenApiTypes.STR,
                enum=["mine", "review"],
                description="mine : mes demandes ; review : celles que je peux examiner.",
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=AccreditationRequestCreateSerializer,
        responses={201: AccreditationRequestSerializer, 400: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def create(self, request: Request) -> Response:
        serializer = AccreditationRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            created = accreditation_request_submit(
                user=self._user(), data=serializer.to_data(), base_url=_base_url(request)
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(
            AccreditationRequestSerializer(
                request_visible_to(user=self._user(), pk=created.pk)
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={200: AccreditationRequestSerializer, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Approve the pending sites of the request that are yours to decide."""
        accreditation_request = self._reviewed()
        try:
            accreditation_request_approve(
                request=accreditation_request, reviewer=self._user(), base_url=_base_url(request)
            )
        except DjangoValidationError as error:
            return _conflict_or_invalid(error)
        return self._answer(accreditation_request)

    @extend_schema(
        request=RejectSerializer,
        responses={200: AccreditationRequestSerializer, 400: None, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Reject the pending sites of the request that are yours to decide (reason required)."""
        accreditation_request = self._reviewed()
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            accreditation_request_reject(
                request=accreditation_request,
                reviewer=self._user(),
                reason=serializer.validated_data["reason"],
                base_url=_base_url(request),
            )
        except DjangoValidationError as error:
            return _conflict_or_invalid(error)
        return self._answer(accreditation_request)

    @extend_schema(
        request=AskInfoSerializer,
        responses={200: AccreditationRequestSerializer, 400: None, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request: Request, pk: str) -> Response:
        """Ask the applicant for more information; the review waits for their answer."""
        accreditation_request = self._reviewed()
        serializer = AskInfoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            accreditation_request_ask_info(
                request=accreditation_request,
                reviewer=self._user(),
                message=serializer.validated_data["message"],
                base_url=_base_url(request),
            )
        except DjangoValidationError as error:
            return _conflict_or_invalid(error)
        return self._answer(accreditation_request)

    @extend_schema(
        request=ProvideInfoSerializer,
        responses={200: AccreditationRequestSerializer, 400: None, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"], url_path="provide-info")
    def provide_info(self, request: Request, pk: str) -> Response:
        """The applicant answers the reviewer's question."""
        accreditation_request = self.get_object()
        if accreditation_request.user_id != self._user().pk:
            raise PermissionDenied
        serializer = ProvideInfoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            accreditation_request_provide_info(
                request=accreditation_request,
                user=self._user(),
                answer=serializer.validated_data["answer"],
                base_url=_base_url(request),
            )
        except DjangoValidationError as error:
            return _conflict_or_invalid(error)
        return self._answer(accreditation_request)


@extend_schema(
    parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description="Nom ou prénom."),
        OpenApiParameter(
            "specialty", OpenApiTypes.STR, enum=Specialty.values, description="Code TRE_R38."
        ),
        OpenApiParameter("establishment", OpenApiTypes.INT, description="Id d'établissement."),
    ]
)
class PractitionerDirectoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Practitioner]):
    """Accredited practitioners, with the phones of their active practice sites."""

    serializer_class = DirectoryPractitionerSerializer
    permission_classes = [HasRole.of(Role.PRACTITIONER, Role.REFERENT, Role.REGIONAL_ADMIN)]

    def get_queryset(self) -> QuerySet[Practitioner]:
        query = DirectoryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return directory_search(
            query=query.validated_data.get("search", ""),
            specialty=query.validated_data.get("specialty", ""),
            establishment=query.validated_data.get("establishment"),
        )
