"""Settings of the authorization web service's load benchmark (``bench/orthanc_auth_load.py``).

The portal's own settings, read from the same environment, with two changes:

- the root URLconf adds the framework's floor (``bench/auth_floor_urls.py``) beside the real
  endpoint, so that both are served by the same processes and the same middleware; the
  callback handler's URLconf (``portal.machine_wsgi``, which serves the real endpoint) adds
  the same floor there;
- Django's production password hashers instead of the test environment's MD5, so that the
  archive's HTTP Basic password costs here what it costs in production.
"""

from django.conf import global_settings

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.auth_floor_urls"
CALLBACK_URLCONF = "bench.auth_floor_callback_urls"
PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
