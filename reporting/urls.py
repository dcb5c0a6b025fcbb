"""The dashboards' pages (regional administrators, directors) and their tables' downloads."""

from django.urls import path

from reporting import dashboard_views

app_name = "reporting"

urlpatterns = [
    path("pilotage/", dashboard_views.region, name="region"),
    path(
        "pilotage/export/<slug:table>.<slug:fmt>",
        dashboard_views.region_export,
        name="region_export",
    ),
    path("pilotage/mon-etablissement/", dashboard_views.mine, name="mine"),
    path("pilotage/etablissements/<int:pk>/", dashboard_views.establishment, name="establishment"),
    path(
        "pilotage/etablissements/<int:pk>/export/<slug:table>.<slug:fmt>",
        dashboard_views.establishment_export,
        name="establishment_export",
    ),
]
