"""``manage.py sync_directory [--establishment FINESS]``: read the telephony directories now.

Without ``--establishment``, every enabled directory is synced in turn, one failure not stopping
the others. Exits non-zero with a one-line error on an unknown FINESS, an establishment without a
(enabled) directory, or any failed sync.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from practitioners.directory_sync import (
    SyncReport,
    directories_to_sync,
    directory_for_finess,
    sync_all,
)
from practitioners.models import TelephonyDirectory


class Command(BaseCommand):
    help = (
        "Synchronise les annuaires téléphoniques des établissements (tous les annuaires actifs, "
        "ou celui d'un établissement)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--establishment",
            metavar="FINESS",
            help="FINESS géographique de l'établissement dont synchroniser l'annuaire",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directories = self._directories(options.get("establishment"))
        if not directories:
            self.stdout.write(_("Aucun annuaire téléphonique actif."))
            return
        outcomes = sync_all(directories=directories)
        failures = 0
        for directory in directories:
            outcome = outcomes[directory.pk]
            name = directory.establishment.name
            if isinstance(outcome, SyncReport):
                self.stdout.write(
                    self.style.SUCCESS(
                        _(
                            "%(name)s : %(entries)d entrées, %(matched)d rapprochées, "
                            "%(updated)d mises à jour, %(unmatched)d non rapprochées, "
                            "%(leavers)d départ(s) signalé(s)."
                        )
                        % {
                            "name": name,
                            "entries": outcome.entries,
                            "matched": outcome.matched,
                            "updated": outcome.updated,
                            "unmatched": outcome.unmatched_count,
                            "leavers": len(outcome.leavers),
                        }
                    )
                )
            else:
                failures += 1
                self.stderr.write(f"{name} : {outcome.message}")
        if failures:
            raise CommandError(
                _("%(failures)d annuaire(s) sur %(total)d en échec ; rien n'y a été modifié.")
                % {"failures": failures, "total": len(directories)}
            )

    @staticmethod
    def _directories(finess: str | None) -> list[TelephonyDirectory]:
        if not finess:
            return list(directories_to_sync())
        establishment, directory = directory_for_finess(finess=finess)
        if establishment is None:
            raise CommandError(
                _("Aucun établissement n'a le FINESS %(finess)s.") % {"finess": finess}
            )
        if directory is None:
            raise CommandError(
                _("%(name)s n'a pas d'annuaire téléphonique configuré.")
                % {"name": establishment.name}
            )
        if not directory.enabled:
            raise CommandError(
                _("La synchronisation de l'annuaire de %(name)s est désactivée.")
                % {"name": establishment.name}
            )
        return [directory]
