"""``python manage.py import_practitioners FILE``: load the practitioner reference extract."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from practitioners.reference_import import ReferenceFileError, practitioner_references_import


class Command(BaseCommand):
    help = (
        "Charge un extrait du référentiel des professionnels de santé (CSV « Annuaire Santé » "
        "PS_LibreAcces ou CSV simple : RPPS/ADELI, nom, prénom, profession, savoir-faire)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="fichier CSV (séparateur | ; ou , ; UTF-8 ou Latin-1)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = practitioner_references_import(path=options["file"])
        except ReferenceFileError as error:
            raise CommandError(f"Import refusé, rien n'a été écrit : {error}") from error
        for line, reason in report.rejected:
            self.stdout.write(f"ligne {line} : rejetée – {reason}")
        if report.luhn_warnings:
            self.stdout.write(
                f"{report.luhn_warnings} numéro(s) RPPS ne vérifient pas la clé de Luhn : "
                "acceptés (clé non confirmée pour le RPPS)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Référentiel des professionnels : {report.created} créé(s), "
                f"{report.updated} mis à jour, {report.unchanged} inchangé(s), "
                f"{len(report.rejected)} rejeté(s)."
            )
        )
