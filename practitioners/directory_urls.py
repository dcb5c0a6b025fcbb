"""Pages of the telephony directory (French paths), mounted at the site root."""

from django.urls import path

from practitioners import directory_views as views

app_name = "telephony"

urlpatterns = [
    path("annuaires-telephoniques/", views.directory_list, name="list"),
    path(
        "etablissements/<int:pk>/annuaire-telephonique/",
        views.directory_settings,
        name="directory",
    ),
    path(
        "etablissements/<int:pk>/annuaire-telephonique/tester-la-connexion/",
        views.directory_test,
        name="test",
    ),
    path(
        "etablissements/<int:pk>/annuaire-telephonique/synchroniser/",
        views.directory_sync_now,
        name="sync",
    ),
]
