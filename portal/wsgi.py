"""WSGI entry point, for gunicorn or uWSGI: the portal, and the archives' authorization
callback on a handler of its own (``portal.machine_wsgi``), each process readied before its
first request (``portal.process_start``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
portal_application = get_wsgi_application()

from portal.machine_wsgi import MachineHandler, dispatching  # noqa: E402 - after Django's setup
from portal.process_start import prepare_process  # noqa: E402

application = dispatching(portal_application, MachineHandler())
prepare_process()
