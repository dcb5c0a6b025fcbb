"""The patient API, mounted under /api/v1/me/ (``access.api_urls``): what the patient portal's
pages offer (``access.views.patient``), for a mobile client.

- ``studies/``: my studies, newest first, each decided and traced on the API channel.
- ``access-history/``: who saw my imaging over the last year, and the emergency accesses not
  yet acknowledged; ``emergencies/{id}/acknowledge/``.
- ``grants/``: the grants on my record (list, create); ``grants/{id}/revoke/``.
- ``opposition/``: my opposition to sharing, read (GET) and set (PUT).
- ``practitioners/?q=``: the directory of accredited practitioners, to choose whom to grant.

The patient is always the signed-in account's own record (``patient_portal.patient_of``), never
a parameter: an id in a path is looked up within that record, so another patient's id answers
404. A signed-in account without a record gets 403 with the address of the activation page.
Choices go through the same services as the pages and the staff screens, and apply at once.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import patient_portal, selectors, services
from access.me_serializers import (
    MeCandidatesSerializer,
    MeEmergencySerializer,
    MeGrantCreateSerializer,
    MeGrantSerializer,
    MeGrantsSerializer,
    MeHistorySerializer,
    MeOppositionChangeSerializer,
    MeOppositionSerializer,
    MePractitionerQuerySerializer,
    MeStudiesSerializer,
    opposition_effects,
)
from access.models import AccessGrant
from access.selectors import GrantRow
from access.sharing_forms import end_of_day
from audit.models import Channel
from imaging.models import Patient
from portal.http import error_text, signed_in_user
from practitioners.serializers import as_drf_error

SEARCH_LIMIT = 20

_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description="Erreurs par champ.")
_REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "Non connecté, ou compte sans dossier patient activé (« activate_url » : la page "
        "d'activation avec le code remis par l'établissement)."
    ),
)
_NOT_MINE = OpenApiResponse(description="Introuvable dans votre dossier.")
_CONFLICT = OpenApiResponse(OpenApiTypes.OBJECT, description="Déjà fait (« detail »).")


def _conflict(error: DjangoValidationError) -> Response:
    """A service's refusal on the state of the object (already revoked, already ended)."""
    return Response({"detail": error_text(error)}, status=status.HTTP_409_CONFLICT)


def _on_last_day(error: DjangoValidationError) -> DjangoValidationError:
    """The service speaks of the instant the access ends; the patient chose its last day."""
    if not hasattr(error, "error_dict"):
        return error
    return DjangoValidationError(
        {
            ("last_day" if key == "valid_until" else key): messages
            for key, messages in error.error_dict.items()
        }
    )


class _MeView(APIView):
    """Signed in with an activated patient record, which the handlers find in ``patient``."""

    permission_classes = [IsAuthenticated]
    patient: Patient

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        patient = patient_portal.patient_of(user=request.user)
        if patient is None:
            raise PermissionDenied(
                {
                    "detail": _(
                        "Activez d'abord votre espace patient avec le code remis par "
                        "l'établissement : ce service est réservé aux patients dont le compte "
                        "est relié à leur dossier."
                    ),
                    "activate_url": reverse("patient_portal:activate"),
                }
            )
        self.patient = patient


# --- My studies --------------------------------------------------------------------------------


class MyStudiesView(_MeView):
    @extend_schema(
        summary="Mes examens",
        description=(
            "Tous vos examens d'imagerie, dans tous les établissements du réseau, du plus "
            "récent au plus ancien (la liste entière, sans pages). Chaque lecture est tracée. "
            "« report_url » télécharge le compte rendu avec la session du portail ; "
            "« viewer » dit si l'archive de l'examen a une visionneuse."
        ),
        responses={200: MeStudiesSerializer, 403: _REFUSED},
    )
    def get(self, request: Request) -> Response:
        studies = patient_portal.my_studies(
            user=signed_in_user(request),
            patient=self.patient,
            request=request._request,
            channel=Channel.API,
        )
        return Response(
            MeStudiesSerializer({"results": studies}, context={"request": request}).data
        )


# --- Who looked at my studies -----------------------------------------------------------------


class MyAccessHistoryView(_MeView):
    @extend_schema(
        summary="Qui a consulté mes examens",
        description=(
            "Les consultations de vos images par des professionnels sur la période « days », "
            "de la plus récente à la plus ancienne : une entrée par personne, jour et raison "
            "(« rule » : care_team, grant ou break_glass ; « why » l'explique en une phrase), "
            "avec les examens ouverts. Les accès d'urgence sont signalés (« flagged ») ; ceux "
            "dont vous n'avez pas encore pris connaissance sont dans « emergencies ». Vos "
            "propres visites et les tentatives refusées n'y figurent pas."
        ),
        responses={200: MeHistorySerializer, 403: _REFUSED},
    )
    def get(self, request: Request) -> Response:
        entries = patient_portal.access_history(
            user=signed_in_user(request),
            patient=self.patient,
            request=request._request,
            channel=Channel.API,
        )
        data = {
            "days": patient_portal.HISTORY_DAYS,
            "results": entries,
            "emergencies": patient_portal.unacknowledged_emergencies(patient=self.patient),
        }
        return Response(MeHistorySerializer(data).data)


class MyEmergencyAcknowledgeView(_MeView):
    @extend_schema(
        summary="Prendre connaissance d'un accès d'urgence",
        description=(
            "L'accès d'urgence n'est plus annoncé ; il reste dans l'historique. Sans effet s'il "
            "l'était déjà. 404 pour un accès d'urgence qui ne porte pas sur votre dossier."
        ),
        request=None,
        responses={200: MeEmergencySerializer, 403: _REFUSED, 404: _NOT_MINE},
    )
    def post(self, request: Request, pk: int) -> Response:
        access = patient_portal.my_emergency(patient=self.patient, pk=pk)
        if access is None:
            raise Http404
        try:
            acknowledged = services.break_glass_acknowledge(
                by=signed_in_user(request), access=access
            )
        except DjangoPermissionDenied as error:
            raise PermissionDenied from error
        return Response(MeEmergencySerializer(acknowledged).data)


# --- My grants ---------------------------------------------------------------------------------


class MyGrantsView(_MeView):
    @extend_schema(
        summary="Les accès donnés à mes images",
        description=(
            "Tous les accès ouverts sur votre dossier, par vous ou par un établissement, les "
            "plus récents d'abord, avec leur état (« state »). Un accès « suspended » est "
            "suspendu par votre opposition et reprend si vous la retirez."
        ),
        responses={200: MeGrantsSerializer, 403: _REFUSED},
    )
    def get(self, request: Request) -> Response:
        opposed = selectors.active_opposition(patient=self.patient) is not None
        rows = selectors.grant_rows(patient=self.patient, opposed=opposed)
        return Response(MeGrantsSerializer({"results": rows}, context={"user": request.user}).data)

    @extend_schema(
        summary="Donner accès à mes images à un professionnel",
        description=(
            "Comme sur la page « Mes choix de partage » : un professionnel habilité (son "
            "identifiant, tiré de la recherche « practitioners », ou son RPPS) voit vos images "
            "jusqu'au jour « last_day » inclus (fin à minuit, heure de Paris), au plus "
            "ACCESS_GRANT_MAX_DAYS jours, dès maintenant. 400 avec les erreurs par champ : "
            "professionnel inconnu ou sans habilitation en cours (« practitioner »), jour "
            "passé ou trop lointain (« last_day »), opposition en cours ou accès déjà donné "
            "(« non_field_errors »)."
        ),
        request=MeGrantCreateSerializer,
        responses={201: MeGrantSerializer, 400: _ERRORS, 403: _REFUSED},
    )
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        serializer = MeGrantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            grant = services.grant_create(
                by=user,
                practitioner=data["practitioner"],
                patient=self.patient,
                reason=AccessGrant.Reason.PATIENT_CHOICE,
                valid_until=end_of_day(data["last_day"]),
                comment=data["comment"],
            )
        except DjangoValidationError as error:
            raise as_drf_error(_on_last_day(error)) from error
        # Just created: it starts now, and no opposition is in force (the service refuses).
        row = GrantRow(grant, "active")
        return Response(
            MeGrantSerializer(row, context={"user": user}).data, status=status.HTTP_201_CREATED
        )


class MyGrantRevokeView(_MeView):
    @extend_schema(
        summary="Retirer un accès à mes images",
        description=(
            "Effet immédiat : le professionnel ne voit plus vos images, que l'accès ait été "
            "donné par vous ou par un établissement. 404 pour un accès qui ne porte pas sur "
            "votre dossier ; 409 s'il est déjà retiré ou terminé."
        ),
        request=None,
        responses={200: MeGrantSerializer, 403: _REFUSED, 404: _NOT_MINE, 409: _CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        grant = patient_portal.my_grant(patient=self.patient, pk=pk)
        if grant is None:
            raise Http404
        try:
            revoked = services.grant_revoke(by=user, grant=grant)
        except DjangoValidationError as error:
            return _conflict(error)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error) or None) from error
        return Response(
            MeGrantSerializer(GrantRow(revoked, "revoked"), context={"user": user}).data
        )


# --- My opposition -----------------------------------------------------------------------------


def _opposition_state(patient: Patient) -> dict[str, Any]:
    opposition = selectors.active_opposition(patient=patient)
    return {
        "opposed": opposition is not None,
        "since": opposition.recorded_at if opposition is not None else None,
        "producing_establishments": patient_portal.producing_establishments(patient=patient),
        "effects": opposition_effects(opposed=opposition is not None),
    }


class MyOppositionView(_MeView):
    @extend_schema(
        summary="Mon opposition au partage",
        description=(
            "Si vous vous opposez au partage de vos images (depuis « since »), les "
            "établissements où vos examens ont été faits, et ce que change le choix suivant "
            "(« effects »), à montrer avant de le confirmer."
        ),
        responses={200: MeOppositionSerializer, 403: _REFUSED},
    )
    def get(self, request: Request) -> Response:
        return Response(MeOppositionSerializer(_opposition_state(self.patient)).data)

    @extend_schema(
        summary="M'opposer au partage, ou retirer mon opposition",
        description=(
            "« opposed » : true pour vous opposer, false pour retirer votre opposition ; "
            "« confirm » : true, après avoir montré « effects » (400 sans). Effet immédiat : "
            "opposé, plus personne hors des équipes de soins des établissements producteurs "
            "ne voit vos images, même en urgence. Demander l'état déjà en place ne change "
            "rien et répond 200. 409 si un autre changement vient d'avoir lieu."
        ),
        request=MeOppositionChangeSerializer,
        responses={200: MeOppositionSerializer, 400: _ERRORS, 403: _REFUSED, 409: _CONFLICT},
    )
    def put(self, request: Request) -> Response:
        serializer = MeOppositionChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = serializer.validated_data["opposed"]
        if wanted != (selectors.active_opposition(patient=self.patient) is not None):
            change = services.opposition_record if wanted else services.opposition_withdraw
            try:
                change(by=signed_in_user(request), patient=self.patient)
            except DjangoValidationError as error:  # a concurrent request changed it first
                return _conflict(error)
        return Response(MeOppositionSerializer(_opposition_state(self.patient)).data)


# --- The practitioner directory ----------------------------------------------------------------


class MyPractitionerSearchView(_MeView):
    @extend_schema(
        summary="Chercher un professionnel à qui donner accès",
        description=(
            "Les professionnels dont l'habilitation au réseau est en cours, par nom ou prénom "
            f"(« q », {selectors.SHARE_SEARCH_MIN_LENGTH} lettres au moins, sinon 400), "
            f"{SEARCH_LIMIT} au plus (« truncated » : la liste est coupée, précisez le nom). "
            "Seuls eux peuvent recevoir un accès."
        ),
        parameters=[MePractitionerQuerySerializer],
        responses={200: MeCandidatesSerializer, 400: _ERRORS, 403: _REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = MePractitionerQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        candidates = selectors.share_candidates(
            user=request.user, query=query.validated_data["q"], limit=SEARCH_LIMIT
        )
        data = {"results": candidates[:SEARCH_LIMIT], "truncated": len(candidates) > SEARCH_LIMIT}
        return Response(MeCandidatesSerializer(data).data)
