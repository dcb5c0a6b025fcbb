"""``manage.py funder_report --period 2026-Q3 --output FILE.pdf [--indicators RCO14,RCR11]``:
write the period's funder report (PDF/A) and record it like one asked for from the portal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting.indicators import UnknownIndicators
from reporting.models import FunderReport
from reporting.periods import PeriodError, period_parse
from reporting.services import funder_report_create


class Command(BaseCommand):
    help = (
        "Produit le rapport aux financeurs d'une période (PDF/A) et l'enregistre avec son "
        "empreinte SHA-256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--period",
            required=True,
            metavar="PÉRIODE",
            help="2026, 2026-S1, 2026-Q3, 2026-10 ou 2026-01-01..2026-03-31",
        )
        parser.add_argument(
            "--output", required=True, metavar="FICHIER.pdf", help="fichier PDF à écrire"
        )
        parser.add_argument(
            "--indicators",
            default="",
            metavar="CODES",
            help="codes séparés par des virgules (par défaut : tous les indicateurs suivis)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = period_parse(options["period"])
        except PeriodError as error:
            raise CommandError(str(error)) from error
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"Le dossier « {output.parent} » n'existe pas.")
        codes = [code for code in options["indicators"].split(",") if code.strip()]
        try:
            report = funder_report_create(period=period, codes=codes)
        except UnknownIndicators as error:
            raise CommandError(str(error)) from error
        if report.status != FunderReport.Status.DONE:
            raise CommandError(report.error)
        with report.file.open("rb") as stored:
            data = stored.read()
        try:
            output.write_bytes(data)
        except OSError as error:
            raise CommandError(f"Impossible d'écrire « {output} » : {error.strerror}.") from error
        self.stdout.write(
            f"Rapport « {period.label} » écrit dans {output} ({report.size} octets, "
            f"SHA-256 {report.sha256}, rapport n° {report.pk})."
        )
