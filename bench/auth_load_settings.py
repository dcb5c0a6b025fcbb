"""Settings of the authorization web service's load benchmark (``bench/orthanc_auth_load.py``).

The portal's own settings, read from the same environment, with three changes:

- the root URLconf adds the framework's floor (``bench/auth_floor_urls.py``) beside the real
  endpoint, so that both are served by the same processes and the same middleware; the
  callback handler's URLconf (``portal.machine_wsgi``, which serves the real endpoint) adds
  the same floor there;
- Django's production password hashers instead of the test environment's MD5, so that the
  archive's HTTP Basic password costs here what it costs in production;
- the callback's memory of facts (``access.fact_cache``) as in production: the test
  environment keeps none.
"""

from django.conf import global_settings

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.auth_floor_urls"
CALLBACK_URLCONF = "bench.auth_floor_callback_urls"
PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
# The production default of the callback's memory of facts (the test suite keeps none).
ACCESS_FACTS_CACHE_S = min(5, ACCESS_DECISION_VALIDITY_S - 1)  # noqa: F405
