"""REST endpoints of the access app, mounted under /api/v1/.

Route names: ``access-api-grant-list`` / ``-revoke``, ``access-api-break-glass-list`` /
``-review-queue`` / ``-review``, and ``access-api-audit-event-list``.
"""

from rest_framework.routers import SimpleRouter

from access.api import AuditEventViewSet, BreakGlassViewSet, GrantViewSet

router = SimpleRouter()
router.register("grants", GrantViewSet, basename="access-api-grant")
router.register("break-glass", BreakGlassViewSet, basename="access-api-break-glass")
router.register("audit-events", AuditEventViewSet, basename="access-api-audit-event")

urlpatterns = router.urls
