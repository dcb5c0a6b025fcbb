"""WSGI entry point, for gunicorn or uWSGI: the portal, and the archives' authorization
callback on a handler of its own (``portal.machine_wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
portal_application = get_wsgi_application()

from portal.machine_wsgi import MachineHandler, dispatching  # noqa: E402 - after Django's setup

application = dispatching(portal_application, MachineHandler())
