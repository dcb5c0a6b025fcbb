"""What a serving process does once, before its first request (``portal.wsgi``).

1. Import every URLconf (the portal's and the archives' callback's) and build their reverse
   maps, and load each language's catalog: about 1.3 s that each worker's first request would
   otherwise wait for.
2. Move everything loaded so far out of the garbage collector's sight (``gc.freeze``). Django,
   the apps and their URLconfs are some 150,000 objects that live as long as the process, and
   every full collection walked them all again, holding the worker's every thread for
   60-90 ms at random requests: the p99 of a trivial view reached 65-90 ms under load
   (``make bench-auth``). What the requests create is still collected as usual.
3. Consider a full collection after 100 collections of the middle generation instead of 10.
   The archives' callback keeps what it read for a few seconds (``access.fact_cache``, the
   resources' studies), so objects keep reaching the oldest generation and a full pass (still
   5-20 ms on a busy machine) came every second or so; the young generations, where a
   request's own garbage dies, are collected as often as before.
"""

from __future__ import annotations

import gc

from django.conf import settings
from django.urls import get_resolver
from django.utils import translation

from portal.machine_wsgi import URLCONF as CALLBACK_URLCONF

# Python's defaults but for the third: full passes ten times rarer.
GC_THRESHOLDS = (700, 10, 100)


def prepare_process() -> None:
    callback_urlconf = getattr(settings, "CALLBACK_URLCONF", CALLBACK_URLCONF)
    for urlconf in (settings.ROOT_URLCONF, callback_urlconf):
        resolver = get_resolver(urlconf)
        resolver.reverse_dict  # noqa: B018 - imports every view and builds the reverse maps
    with translation.override(None):
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                translation.gettext("Portail")
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
