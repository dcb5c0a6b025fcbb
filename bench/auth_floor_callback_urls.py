"""The callback handler's URLconf plus the framework's floor (``bench/auth_floor_urls.py``),
after the web service's own routes."""

from django.urls import path

from bench.auth_floor_urls import CALLBACK_FLOOR_PATH, floor
from portal.machine_urls import (  # noqa: F401 - the handlers Django reads from the URLconf
    handler400,
    handler403,
    handler404,
    handler500,
)
from portal.machine_urls import urlpatterns as callback_urlpatterns

urlpatterns = [
    *callback_urlpatterns,
    path(CALLBACK_FLOOR_PATH.lstrip("/"), floor, name="bench_callback_floor"),
]
