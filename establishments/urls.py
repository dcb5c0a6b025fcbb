"""HTML pages of the establishments app (French paths)."""

from django.urls import path  # noqa: F401 - pages are added here

app_name = "establishments"

urlpatterns: list = []
