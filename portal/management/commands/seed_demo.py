"""``manage.py seed_demo``: build (or complete) the demonstration region. Idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from portal.demo import seed_steps


class Command(BaseCommand):
    help = "Crée la région de démonstration (comptes, établissements, données fictives)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # Demo accounts have a published password: never on a real portal.
            raise CommandError(
                "seed_demo refuse de s'exécuter en production (PORTAL_ENV=production)."
            )
        autodiscover_modules("demo")
        with transaction.atomic():
            for step in seed_steps():
                step.function(lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(self.style.SUCCESS("Région de démonstration prête."))
