"""Sign-in with Pro Santé Connect, the national OpenID Connect login of health professionals.

A django-allauth provider of its own (``pro_sante_connect``), built on allauth's generic OpenID
Connect provider: see ``provider.py`` for what differs, ``adapter.py`` for what the portal does
after a successful login, ``portal/settings.py`` ("Pro Santé Connect") for its configuration, and
``practitioners/psc_prefill.py`` for the accreditation request pre-fill.
"""
