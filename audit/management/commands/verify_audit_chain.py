"""``manage.py verify_audit_chain [--from YYYY-MM-DD] [--anchor RANG:EMPREINTE]``: check the
access trail's hash chain.

Exits 0 with a one-line summary that ends on the chain head (rank and hash: note it outside the
database to anchor the chain), or non-zero naming the first broken record and what is wrong.
"""

from __future__ import annotations

import datetime
import re
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.verification import chain_verify

_ANCHOR = re.compile(r"^#?(\d+):([0-9a-f]{64})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Command(BaseCommand):
    help = (
        "Vérifie la chaîne d'empreintes de la trace des accès : sort en erreur en nommant la "
        "première trace modifiée, supprimée ou ajoutée."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--from",
            dest="since",
            metavar="AAAA-MM-JJ",
            help="vérifier à partir de la première trace enregistrée ce jour-là (UTC) ou après",
        )
        parser.add_argument(
            "--anchor",
            metavar="RANG:EMPREINTE",
            help="une tête de chaîne notée hors de la base : la trace de ce rang doit l'avoir",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = _parse_date(options.get("since"))
        anchor = _parse_anchor(options.get("anchor"))
        verbosity = int(options.get("verbosity", 1))

        def progress(checked: int, seq: int) -> None:
            if verbosity >= 2:
                self.stderr.write(
                    _("%(checked)d traces vérifiées (rang #%(seq)d)…")
                    % {"checked": checked, "seq": seq}
                )

        report = chain_verify(since=since, anchor=anchor, progress=progress)
        if report.broken is not None:
            raise CommandError(str(report.broken))
        values = {
            "count": report.checked,
            "first": report.first_seq,
            "last": report.last_seq,
            "head": report.head_seq,
            "hash": report.head_hash,
        }
        if report.checked:
            summary = (
                ngettext(
                    "Chaîne intègre : %(count)d trace vérifiée, de #%(first)d à #%(last)d.",
                    "Chaîne intègre : %(count)d traces vérifiées, de #%(first)d à #%(last)d.",
                    report.checked,
                )
                % values
            )
        else:
            summary = _("Chaîne intègre : aucune trace à vérifier.") % values
        # Noted outside the database, the head lets a later run (--anchor) catch a chain
        # rewritten whole by someone able to recompute every hash.
        summary += " " + _("Tête de chaîne : #%(head)d, empreinte %(hash)s.") % values
        if report.anchor_checked is True:
            summary += " " + _("Ancre #%(seq)d vérifiée.") % {"seq": anchor[0] if anchor else 0}
        elif report.anchor_checked is False:
            summary += " " + _("Ancre #%(seq)d purgée par la rétention, non vérifiable.") % {
                "seq": anchor[0] if anchor else 0
            }
        self.stdout.write(self.style.SUCCESS(summary))


def _parse_date(value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--from attend une date AAAA-MM-JJ (reçu : « %(value)s »).") % {"value": value}
        ) from None


def _parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = _ANCHOR.match(value.strip().lower())
    if not match or int(match[1]) < 1:
        raise CommandError(
            _(
                "--anchor attend RANG:EMPREINTE, l'empreinte en 64 caractères hexadécimaux "
                "(reçu : « %(value)s »)."
            )
            % {"value": value}
        )
    return int(match[1]), match[2]
