"""REST endpoints of viewer tokens, mounted under /api/v1/ (``access.api_urls``).

- ``viewer-tokens/``: mint a token to open a study in its archive's viewer (or, without a
  study, the viewer's own list). Only for a study ``access.decide`` lets the caller see; an
  unknown study and a refused one both answer 404.
- ``viewer-tokens/{id}/revoke/``: the token's owner revokes it; the archive's next check
  refuses it. Someone else's token answers 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.token_models import ViewerToken
from access.tokens import viewer_token_for_owner, viewer_token_issue, viewer_token_revoke
from imaging.models import UID_MAX_LENGTH
from portal.http import signed_in_user
from portal.roles import HasRole, Role

# Practitioners see studies as access.decide allows; patients see their own.
MayOpenViewer = HasRole.of(Role.PRACTITIONER, Role.PATIENT)


class ViewerTokenRequestSerializer(serializers.Serializer[Any]):
    study_instance_uid = serializers.RegexField(
        r"^[0-9.]+$",
        max_length=UID_MAX_LENGTH,
        required=False,
        label=gettext_lazy("StudyInstanceUID"),
        error_messages={
            "invalid": gettext_lazy(
                "Un StudyInstanceUID ne contient que des chiffres et des points."
            )
        },
    )


class ViewerTokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text=gettext_lazy("Pour révoquer le jeton."))
    token = serializers.CharField(help_text=gettext_lazy("Le jeton, montré cette fois seulement."))
    url = serializers.CharField(
        allow_null=True,
        help_text=gettext_lazy(
            "L'adresse de l'examen dans la visionneuse de son archive, jeton compris ; null "
            "sans examen ou si l'archive n'a pas de visionneuse configurée."
        ),
    )
    expires_at = serializers.DateTimeField()


class ViewerTokenStateSerializer(serializers.ModelSerializer[ViewerToken]):
    class Meta:
        model = ViewerToken
        fields = ["id", "created_at", "expires_at", "revoked_at", "last_used_at"]


class ViewerTokenCreateView(APIView):
    permission_classes = [MayOpenViewer]

    @extend_schema(
        summary="Ouvrir un examen dans la visionneuse (jeton de visionneuse)",
        description=(
            "Crée un jeton de visionneuse à durée de vie courte pour vous, limité à l'examen "
            "« study_instance_uid » s'il est donné, et renvoie l'adresse qui ouvre l'examen "
            "dans la visionneuse de son archive. L'archive demande au portail, à chaque "
            "requête, si vous pouvez voir l'examen : le jeton ne donne aucun droit par "
            "lui-même. Un examen inconnu et un examen que vous ne pouvez pas voir reçoivent "
            "la même réponse 404."
        ),
        request=ViewerTokenRequestSerializer,
        responses={
            201: ViewerTokenSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Erreurs par champ."),
            403: None,
            404: None,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ViewerTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            minted = viewer_token_issue(
                user=signed_in_user(request),
                study_instance_uid=serializer.validated_data.get("study_instance_uid"),
                request=request._request,
            )
        except ObjectDoesNotExist as error:
            raise NotFound(_("Examen introuvable.")) from error
        data = {
            "id": minted.record.pk,
            "token": minted.token,
            "url": minted.url,
            "expires_at": minted.record.expires_at,
        }
        return Response(ViewerTokenSerializer(data).data, status=status.HTTP_201_CREATED)


class ViewerTokenRevokeView(APIView):
    @extend_schema(
        summary="Révoquer un jeton de visionneuse",
        description=(
            "Effet immédiat : la vérification suivante de l'archive refuse le jeton. 404 pour "
            "le jeton d'un autre ; 409 s'il est déjà révoqué."
        ),
        request=None,
        responses={200: ViewerTokenStateSerializer, 404: None, 409: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        token = viewer_token_for_owner(user=request.user, pk=pk)
        if token is None:
            raise Http404
        try:
            revoked = viewer_token_revoke(token=token)
        except DjangoValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(ViewerTokenStateSerializer(revoked).data)


# Included by access.api_urls under /api/v1/.
urlpatterns = [
    path(
        "viewer-tokens/",
        ViewerTokenCreateView.as_view(),
        name="access-api-viewer-token-list",
    ),
    path(
        "viewer-tokens/<int:pk>/revoke/",
        ViewerTokenRevokeView.as_view(),
        name="access-api-viewer-token-revoke",
    ),
]
