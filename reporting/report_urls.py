"""Funder indicators and reports (regional administrators)."""

from django.urls import path

from reporting import report_views as views

app_name = "reports"

urlpatterns = [
    path("pilotage/indicateurs/", views.indicator_list, name="indicator-list"),
    path("pilotage/indicateurs/nouveau/", views.indicator_create, name="indicator-create"),
    path("pilotage/indicateurs/<int:pk>/", views.indicator_detail, name="indicator-detail"),
    path("pilotage/indicateurs/<int:pk>/modifier/", views.indicator_edit, name="indicator-edit"),
    path("pilotage/indicateurs/<int:pk>/jalons/", views.milestone_add, name="milestone-add"),
    path(
        "pilotage/indicateurs/<int:pk>/jalons/<int:milestone_pk>/retirer/",
        views.milestone_remove,
        name="milestone-remove",
    ),
    path(
        "pilotage/indicateurs/<int:pk>/valeurs/",
        views.manual_value_enter,
        name="manual-value-enter",
    ),
    path("pilotage/rapports/", views.report_list, name="report-list"),
    path("pilotage/rapports/<int:pk>/", views.report_detail, name="report-detail"),
    path(
        "pilotage/rapports/<int:pk>/avancement/",
        views.report_progress,
        name="report-progress",
    ),
    path(
        "pilotage/rapports/<int:pk>/telecharger/",
        views.report_download,
        name="report-download",
    ),
]
