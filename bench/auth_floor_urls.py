"""The portal's URLs plus the framework's floor of the authorization load benchmark.

The floor answers what ``tokens/validate`` answers, without looking at the request: what
Django, its middleware and gunicorn cost for the same POST. Its route comes right after the
archive's web service, so that resolving it walks as many patterns as the real one.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.urls import urlpatterns as portal_urlpatterns

FLOOR_PATH = "/bench-floor/tokens/validate"


@csrf_exempt
@require_POST
def floor(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"granted": True, "validity": 10})


_after = 1 + next(
    number
    for number, entry in enumerate(portal_urlpatterns)
    if isinstance(entry, URLResolver) and str(entry.pattern) == "orthanc-auth/"
)
urlpatterns = [
    *portal_urlpatterns[:_after],
    path(FLOOR_PATH.lstrip("/"), floor, name="bench_floor"),
    *portal_urlpatterns[_after:],
]

# The same floor on the archives' callback handler (``portal.machine_wsgi``), which serves
# ``tokens/validate``: what Django costs there without the browsers' middleware.
CALLBACK_FLOOR_PATH = "/orthanc-auth/bench-floor"
