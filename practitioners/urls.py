"""HTML pages of the practitioners app (French paths), mounted at the site root."""

from django.urls import path

from practitioners import views

app_name = "practitioners"

urlpatterns = [
    path("mon-habilitation/", views.my_accreditation, name="my_accreditation"),
    path("habilitation/demande/", views.request_create, name="request_create"),
    path("mon-habilitation/renouvellement/", views.renewal_request, name="renewal_request"),
    path("habilitation/demandes/", views.request_list, name="request_list"),
    path("habilitation/demandes/<int:pk>/", views.request_detail, name="request_detail"),
    path(
        "habilitation/demandes/<int:pk>/approuver/", views.request_approve, name="request_approve"
    ),
    path("habilitation/demandes/<int:pk>/refuser/", views.request_reject, name="request_reject"),
    path(
        "habilitation/demandes/<int:pk>/complement/",
        views.request_ask_info,
        name="request_ask_info",
    ),
    path("habilitation/demandes/<int:pk>/repondre/", views.request_answer, name="request_answer"),
    path("professionnels/<int:pk>/", views.practitioner_detail, name="practitioner_detail"),
    path(
        "professionnels/<int:pk>/habilitations/<int:accreditation_pk>/<slug:action>/",
        views.accreditation_action,
        name="accreditation_action",
    ),
    path(
        "professionnels/<int:pk>/lieux/<int:site_pk>/<slug:action>/",
        views.practice_site_action,
        name="practice_site_action",
    ),
    path("annuaire/", views.directory, name="directory"),
]
