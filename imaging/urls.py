"""HTML pages of the imaging app (French paths), mounted at the site root."""

from django.urls import path

from imaging import views

app_name = "imaging"

urlpatterns = [
    path("archives/", views.source_list, name="source_list"),
    path("archives/volumes/", views.study_volumes, name="study_volumes"),
    path("archives/ajouter/<int:establishment_pk>/", views.source_create, name="source_create"),
    path("archives/tester/", views.connection_test, name="connection_test"),
    path("archives/<int:pk>/", views.source_detail, name="source_detail"),
    path("archives/<int:pk>/modifier/", views.source_edit, name="source_edit"),
    path("archives/<int:pk>/tester/", views.source_connection_test, name="source_connection_test"),
    path("archives/<int:pk>/synchroniser/", views.source_sync_now, name="source_sync_now"),
    path("archives/<int:pk>/progression/", views.source_progress, name="source_progress"),
    path("archives/identites/", views.identity_search, name="identity_search"),
    path("archives/identites/<int:pk>/", views.identity_detail, name="identity_detail"),
    path("archives/identites/<int:pk>/rapprocher/", views.identity_link, name="identity_link"),
    path("archives/identites/<int:pk>/separer/", views.identity_unlink, name="identity_unlink"),
]
