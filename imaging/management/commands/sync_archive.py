"""``manage.py sync_archive [--source ID] [--once] [--reconcile]``: keep the index in step
with the archives without Celery (operators, cron), or reconcile them by hand."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imaging.models import ArchiveSource
from imaging.orthanc import OrthancError
from imaging.sync import SyncReport, source_reconcile, source_sync


class Command(BaseCommand):
    help = (
        "Synchronise l'index d'imagerie avec les archives Orthanc (toutes les archives "
        "actives, ou --source ID). Sans --once, recommence toutes les --interval secondes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", type=int, help="identifiant de l'archive (voir archive_source list)"
        )
        parser.add_argument("--once", action="store_true", help="une seule passe, puis s'arrêter")
        parser.add_argument(
            "--reconcile",
            action="store_true",
            help="rapprocher la liste complète des examens de l'archive et l'index (une passe)",
        )
        parser.add_argument("--interval", type=int, default=60, help="secondes entre deux passes")
        parser.add_argument(
            "--page-size", type=int, help="changements lus par page (IMAGING_SYNC_PAGE_SIZE)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] < 1:
            raise CommandError("--interval doit être d'au moins 1 seconde.")
        if options["page_size"] is not None and options["page_size"] < 1:
            raise CommandError("--page-size doit valoir au moins 1.")
        self.page_size = options["page_size"]
        sources = self._sources(options["source"])
        if options["reconcile"]:
            failures = self._pass(sources, reconcile=True)
        elif options["once"]:
            failures = self._pass(sources, reconcile=False)
        else:
            while True:  # until interrupted (Ctrl-C, SIGTERM)
                self._pass(self._sources(options["source"]), reconcile=False)
                time.sleep(options["interval"])
        if failures:
            raise CommandError(f"{failures} archive(s) en échec (voir ci-dessus).")

    def _sources(self, source_id: int | None) -> list[ArchiveSource]:
        queryset = ArchiveSource.objects.select_related("establishment").order_by("pk")
        if source_id is not None:
            source = queryset.filter(pk=source_id).first()
            if source is None:
                raise CommandError(f"Archive n°{source_id} inconnue (voir archive_source list).")
            return [source]
        return list(queryset.filter(enabled=True))

    def _pass(self, sources: list[ArchiveSource], *, reconcile: bool) -> int:
        failures = 0
        for source in sources:
            try:
                report = (
                    source_reconcile(source=source)
                    if reconcile
                    else source_sync(source=source, page_size=self.page_size)
                )
            except OrthancError as exc:
                failures += 1
                self.stderr.write(f"{source.establishment} : {exc.message}")
                continue
            self.stdout.write(self._summary(source, report))
        return failures

    def _summary(self, source: ArchiveSource, report: SyncReport) -> str:
        if report.mode == "reconcile":
            return (
                f"{source.establishment} : {report.studies_recovered} examen(s) rattrapé(s), "
                f"{report.studies_deleted} marqué(s) supprimé(s), "
                f"{report.findings_total} anomalie(s)."
            )
        return (
            f"{source.establishment} : {report.changes_read} changement(s) lu(s), "
            f"{report.studies_upserted} examen(s) à jour, {report.studies_deleted} supprimé(s), "
            f"{report.findings_total} anomalie(s) ; curseur {source.cursor}."
        )
