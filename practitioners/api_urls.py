"""REST endpoints of the practitioners app, mounted under /api/v1/.

Route names: ``practitioners-api-accreditation-request-list`` / ``-detail`` / ``-approve`` /
``-request-info`` / ``-reject`` / ``-provide-info``, and ``practitioners-api-directory-list``.
"""

from rest_framework.routers import SimpleRouter

from practitioners.api import AccreditationRequestViewSet, PractitionerDirectoryViewSet

router = SimpleRouter()
router.register(
    "accreditation-requests",
    AccreditationRequestViewSet,
    basename="practitioners-api-accreditation-request",
)
router.register(
    "practitioners", PractitionerDirectoryViewSet, basename="practitioners-api-directory"
)

urlpatterns = router.urls
