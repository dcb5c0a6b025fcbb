"""Root URLs: the one module allowed to import every app."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import api_key_views, health, views

# The admin site signs in through allauth: same rate limits, same second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Portail régional d'imagerie – administration technique"
admin.site.site_title = "Portail imagerie"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("compte/cles-api/", api_key_views.api_keys, name="api-keys"),
    path(
        "compte/cles-api/<int:pk>/revoquer/",
        api_key_views.api_key_revoke_view,
        name="api-key-revoke",
    ),
    path("admin/", admin.site.urls),
    path("", include("establishments.urls")),
    path("", include("billing.urls")),
    path("", include("practitioners.urls")),
    path("", include("practitioners.directory_urls")),
    path("", include("imaging.urls")),
    path("", include("access.urls")),
    path("mon-dossier/", include("access.patient_urls")),
    path("", include("reporting.urls")),
    path("", include("reporting.report_urls")),
    path("api/v1/", include("establishments.api_urls")),
    path("api/v1/", include("practitioners.api_urls")),
    path("api/v1/", include("billing.api_urls")),
    path("api/v1/", include("access.api_urls")),
    path("orthanc-auth/", include("access.orthanc_auth_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
