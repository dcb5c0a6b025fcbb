"""``manage.py audit_retention [--months N] [--export-dir DIR] [--dry-run]``: export, then purge,
the months of the access trail older than the retention period.

Prints one line per month and a summary; exits non-zero with a one-line error on bad input or
when a month cannot be purged (the months before it stay purged and recorded).
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.retention import MonthPurge, RetentionError, retention_apply


class Command(BaseCommand):
    help = (
        "Exporte (CSV gzip) puis purge les mois de la trace des accès plus anciens que la "
        "durée de conservation, et consigne chaque purge."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--months",
            metavar="N",
            help="durée de conservation en mois (par défaut AUDIT_RETENTION_MONTHS)",
        )
        parser.add_argument(
            "--export-dir",
            metavar="DOSSIER",
            help="dossier des exports audit-AAAA-MM.csv.gz (par défaut AUDIT_EXPORT_DIR)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="dire ce qui serait exporté et purgé, sans rien écrire ni supprimer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        months = _parse_months(options.get("months"), default=settings.AUDIT_RETENTION_MONTHS)
        export_dir = Path(options.get("export_dir") or settings.AUDIT_EXPORT_DIR)
        if export_dir.exists() and not export_dir.is_dir():
            raise CommandError(
                _("--export-dir n'est pas un dossier : %(dir)s") % {"dir": export_dir}
            )
        dry_run = bool(options.get("dry_run"))
        try:
            report = retention_apply(
                months=months, export_dir=export_dir, dry_run=dry_run, on_month=self._write_month
            )
        except RetentionError as error:
            raise CommandError(str(error)) from error
        values = {
            "months": report.retention_months,
            "cutoff": f"{report.cutoff:%Y-%m-%d}",
            "count": len(report.months),
            "rows": report.row_count,
        }
        if not report.months:
            summary = (
                _("Aucun mois à purger (conservation %(months)d mois : rien avant le %(cutoff)s).")
                % values
            )
        elif dry_run:
            summary = (
                _(
                    "Simulation : %(count)d mois (%(rows)d traces) seraient exportés puis purgés "
                    "(conservation %(months)d mois, avant le %(cutoff)s) ; rien n'a été modifié."
                )
                % values
            )
        else:
            purged = ngettext("%(count)d mois purgé", "%(count)d mois purgés", len(report.months))
            exported = ngettext(
                "%(rows)d trace exportée", "%(rows)d traces exportées", report.row_count
            )
            summary = (
                f"{purged % values}, {exported % values} "
                + _("(conservation %(months)d mois, avant le %(cutoff)s).") % values
            )
        self.stdout.write(self.style.SUCCESS(summary))

    def _write_month(self, purge: MonthPurge) -> None:
        values = {
            "month": f"{purge.month:%Y-%m}",
            "rows": purge.row_count,
            "path": purge.export_path,
            "sha": purge.export_sha256,
            "partition": purge.partition,
        }
        if purge.run_id is None:
            line = (
                ngettext(
                    "%(month)s : %(rows)d trace serait exportée puis purgée",
                    "%(month)s : %(rows)d traces seraient exportées puis purgées",
                    purge.row_count,
                )
                % values
            )
        else:
            line = (
                ngettext(
                    "%(month)s : %(rows)d trace exportée dans %(path)s (SHA-256 %(sha)s)",
                    "%(month)s : %(rows)d traces exportées dans %(path)s (SHA-256 %(sha)s)",
                    purge.row_count,
                )
                % values
            )
            if purge.partition:
                line += ", " + _("partition %(partition)s supprimée") % values
            else:
                line += ", " + _("traces supprimées")
        if purge.chains:
            spans = [
                _("chaîne %(chain)d : rangs #%(first)d à #%(last)d")
                % {"chain": span.chain, "first": span.first_seq, "last": span.last_seq}
                for span in purge.chains
            ]
            line += f" ({' ; '.join(spans)})"
        self.stdout.write(line + ".")


def _parse_months(value: str | None, *, default: int) -> int:
    if value is None:
        return default
    try:
        months = int(value)
    except ValueError:
        months = 0
    if months < 1:
        raise CommandError(
            _("--months attend un nombre entier de mois, au moins 1 (reçu : « %(value)s »).")
            % {"value": value}
        )
    return months
