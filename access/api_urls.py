"""REST endpoints of the access app, mounted under /api/v1/.

Route names: ``access-api-grant-list`` / ``-revoke``, ``access-api-break-glass-list`` /
``-review-queue`` / ``-review``, ``access-api-audit-event-list``, ``access-api-viewer-token-list``
/ ``-revoke``; the patient's own, under
``me/``: ``access-api-me-studies``, ``-me-access-history``, ``-me-emergency-acknowledge``,
``-me-grants``, ``-me-grant-revoke``, ``-me-opposition`` and ``-me-practitioners``.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from access import me_api, viewer_api
from access.api import AuditEventViewSet, BreakGlassViewSet, GrantViewSet

router = SimpleRouter()
router.register("grants", GrantViewSet, basename="access-api-grant")
router.register("break-glass", BreakGlassViewSet, basename="access-api-break-glass")
router.register("audit-events", AuditEventViewSet, basename="access-api-audit-event")

urlpatterns = [
    *router.urls,
    *viewer_api.urlpatterns,
    path("me/studies/", me_api.MyStudiesView.as_view(), name="access-api-me-studies"),
    path(
        "me/access-history/",
        me_api.MyAccessHistoryView.as_view(),
        name="access-api-me-access-history",
    ),
    path(
        "me/emergencies/<int:pk>/acknowledge/",
        me_api.MyEmergencyAcknowledgeView.as_view(),
        name="access-api-me-emergency-acknowledge",
    ),
    path("me/grants/", me_api.MyGrantsView.as_view(), name="access-api-me-grants"),
    path(
        "me/grants/<int:pk>/revoke/",
        me_api.MyGrantRevokeView.as_view(),
        name="access-api-me-grant-revoke",
    ),
    path("me/opposition/", me_api.MyOppositionView.as_view(), name="access-api-me-opposition"),
    path(
        "me/practitioners/",
        me_api.MyPractitionerSearchView.as_view(),
        name="access-api-me-practitioners",
    ),
]
