"""HTML pages of the billing app (French paths)."""

from django.urls import path  # noqa: F401 - pages are added here

app_name = "billing"

urlpatterns: list = []
