"""The portal's URLs plus this app's, for as long as portal/urls.py does not mount them yet.

Once ``practitioners.urls`` (site root) and ``practitioners.api_urls`` (``/api/v1/``) are in
portal/urls.py, this module only repeats the portal's patterns.
"""

from django.urls import include, path

from portal.urls import urlpatterns as portal_patterns

_mounted = {getattr(pattern, "namespace", None) for pattern in portal_patterns}

urlpatterns = list(portal_patterns)
if "practitioners" not in _mounted:
    urlpatterns += [
        path("", include("practitioners.urls")),
        path("api/v1/", include("practitioners.api_urls")),
    ]
