#!/usr/bin/env python
"""Django's command-line utility for the portal."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A misconfiguration is the operator's to fix: one clear line, no traceback.
        sys.stderr.write(f"Configuration invalide : {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
