"""REST endpoints of the establishments app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from establishments.api import EstablishmentViewSet

router = SimpleRouter()
router.register("establishments", EstablishmentViewSet, basename="establishments-api")

urlpatterns = router.urls
