"""REST endpoints of the establishments app, mounted under /api/v1/."""

from django.urls import path  # noqa: F401 - endpoints are added here

urlpatterns: list = []
