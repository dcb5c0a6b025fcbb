"""``manage.py import_finess FILE``: load a FINESS extract (JSON data.gouv or CSV etalab).

Running the same file twice changes nothing. Rejected rows are listed with their line (CSV)
or index path (JSON) and the reason; a file that cannot be imported writes nothing and
exits non-zero with a one-line error.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from establishments.finess import (
    FinessImportError,
    FinessRejectedRowsError,
    ImportIssue,
    ImportReport,
    finess_import,
)


class Command(BaseCommand):
    help = (
        "Importe un extrait du référentiel FINESS (JSON data.gouv ou CSV etalab) ; "
        "relancer le même fichier ne change rien."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="chemin de l'extrait FINESS (JSON ou CSV)")
        parser.add_argument(
            "--strict",
            action="store_true",
            help="ne rien importer et sortir en erreur si une seule ligne est rejetée",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = finess_import(path=options["file"], strict=options["strict"])
        except FinessRejectedRowsError as error:
            self._write_issues(_("Lignes rejetées :"), error.rejections, self.stderr)
            raise CommandError(str(error)) from error
        except FinessImportError as error:
            raise CommandError(str(error)) from error
        self._write_summary(report)

    def _write_summary(self, report: ImportReport) -> None:
        summary = _(
            "Import FINESS (%(shape)s) : %(created)d créée(s), %(updated)d mise(s) à jour, "
            "%(unchanged)d inchangée(s), %(rejected)d rejetée(s)."
        ) % {
            "shape": report.shape,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        }
        style = self.style.WARNING if report.rejected else self.style.SUCCESS
        self.stdout.write(style(summary))
        self._write_issues(_("Lignes rejetées :"), report.rejected, self.stdout)
        self._write_issues(
            _("Avertissements (ligne importée, valeur ignorée) :"), report.warnings, self.stdout
        )

    @staticmethod
    def _write_issues(title: str, issues: Sequence[ImportIssue], stream: Any) -> None:
        if not issues:
            return
        stream.write(title)
        for issue in issues:
            stream.write(str(issue))
