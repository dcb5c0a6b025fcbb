"""``manage.py rollups``: bring the daily rollups up to date, or rebuild a period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting.periods import PeriodError, period_parse
from reporting.rollups import rollups_rebuild, rollups_update


class Command(BaseCommand):
    help = (
        "Met à jour les agrégats quotidiens (sans option), ou reconstruit une période "
        "(--rebuild 2026-Q3)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            metavar="PÉRIODE",
            help=(
                "période à reconstruire : 2026, 2026-S1, 2026-Q3, 2026-10 ou 2026-01-01..2026-03-31"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"]:
            try:
                period = period_parse(options["rebuild"])
            except PeriodError as error:
                raise CommandError(str(error)) from error
            rows = rollups_rebuild(start=period.start, end=period.end)
            self.stdout.write(f"{period.label} : {period.days} jours reconstruits, {rows} lignes.")
            return
        rows = rollups_update()
        self.stdout.write(f"Agrégats à jour : {rows} lignes écrites.")
