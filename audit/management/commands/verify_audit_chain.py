"""``manage.py verify_audit_chain [--from YYYY-MM-DD] [--anchor CHAÎNE#RANG:EMPREINTE ...]``:
check the access trail's hash chains.

Exits 0 with a one-line summary that ends on the chain heads (chain, rank and hash of each chain
that holds rows: note them outside the database, they are what ``--anchor`` takes back), or
non-zero naming the first broken record (its chain and rank) and what is wrong, and which other
chains are broken.
"""

from __future__ import annotations

import datetime
import re
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.chain import CHAINS
from audit.verification import TrailReport, chain_verify

_ANCHOR = re.compile(r"^(\d+)#(\d+):([0-9a-f]{64})$")
_SEPARATORS = re.compile(r"[\s,]+")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Command(BaseCommand):
    help = (
        "Vérifie les chaînes d'empreintes de la trace des accès : sort en erreur en nommant la "
        "première trace modifiée, supprimée ou ajoutée (sa chaîne et son rang)."
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
            action="append",
            metavar="CHAÎNE#RANG:EMPREINTE",
            help=(
                "une tête de chaîne notée hors de la base : la trace de ce rang de cette chaîne "
                "doit l'avoir ; plusieurs, répétées ou séparées par des espaces"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = _parse_date(options.get("since"))
        anchors = _parse_anchors(options.get("anchor") or [])
        verbosity = int(options.get("verbosity", 1))

        def progress(checked: int, chain: int, seq: int) -> None:
            if verbosity >= 2:
                self.stderr.write(
                    _("%(checked)d traces vérifiées (chaîne %(chain)d, rang #%(seq)d)…")
                    % {"checked": checked, "chain": chain, "seq": seq}
                )

        report = chain_verify(since=since, anchors=anchors, progress=progress)
        if verbosity >= 2:
            self._write_chains(report)
        if report.broken is not None:
            message = str(report.broken)
            others = report.breaks[1:]
            if others:
                labels = [
                    str(other.chain) if other.chain is not None else _("traces hors chaîne")
                    for other in others
                ]
                message += " " + _("Également rompues : %(chains)s.") % {
                    "chains": ", ".join(labels)
                }
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(_summary(report, anchors)))

    def _write_chains(self, report: TrailReport) -> None:
        for chain in report.chains:
            values = {
                "chain": chain.chain,
                "count": chain.checked,
                "first": chain.first_seq,
                "last": chain.last_seq,
                "head": chain.head_seq,
            }
            if chain.checked:
                line = _(
                    "Chaîne %(chain)d : %(count)d traces vérifiées, de #%(first)d à #%(last)d ; "
                    "tête au rang #%(head)d."
                )
            else:
                line = _("Chaîne %(chain)d : aucune trace vérifiée ; tête au rang #%(head)d.")
            self.stderr.write(line % values)


def _summary(report: TrailReport, anchors: dict[int, tuple[int, str]]) -> str:
    written = [chain for chain in report.chains if chain.checked]
    values = {"count": report.checked, "chains": len(written), "total": CHAINS}
    if report.checked:
        summary = (
            ngettext(
                "Chaînes intègres : %(count)d trace vérifiée",
                "Chaînes intègres : %(count)d traces vérifiées",
                report.checked,
            )
            % values
            + " "
            + ngettext(
                "dans %(chains)d chaîne sur %(total)d.",
                "dans %(chains)d chaînes sur %(total)d.",
                len(written),
            )
            % values
        )
    else:
        summary = _("Chaînes intègres : aucune trace à vérifier.")
    # Noted outside the database, the heads let a later run (--anchor) catch a chain rewritten
    # whole by someone able to recompute every hash.
    heads = [
        f"{chain.chain}#{chain.head_seq}:{chain.head_hash}"
        for chain in report.chains
        if chain.head_seq
    ]
    if heads:
        summary += " " + _("Têtes de chaîne : %(heads)s.") % {"heads": " ".join(heads)}
    else:
        summary += " " + _("Têtes de chaîne : toutes à l'origine.")
    for number, (seq, _hash) in sorted(anchors.items()):
        values = {"chain": number, "seq": seq}
        checked = report.chain(number).anchor_checked
        if checked is True:
            summary += " " + _("Ancre %(chain)d#%(seq)d vérifiée.") % values
        elif checked is False:
            note = _("Ancre %(chain)d#%(seq)d purgée par la rétention, non vérifiable.")
            summary += " " + note % values
    return summary


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


def _parse_anchors(values: list[str]) -> dict[int, tuple[int, str]]:
    """The anchors of ``--anchor``, by chain: what the summary's heads list, pasted back."""
    anchors: dict[int, tuple[int, str]] = {}
    for value in values:
        for item in _SEPARATORS.split(value.strip().lower()):
            match = _ANCHOR.match(item)
            if not match or not 1 <= int(match[1]) <= CHAINS or int(match[2]) < 1:
                raise CommandError(
                    _(
                        "--anchor attend CHAÎNE#RANG:EMPREINTE, la chaîne de 1 à %(chains)d, le "
                        "rang à partir de 1, l'empreinte en 64 caractères hexadécimaux "
                        "(reçu : « %(value)s »)."
                    )
                    % {"chains": CHAINS, "value": value}
                )
            chain = int(match[1])
            if chain in anchors:
                raise CommandError(
                    _("--anchor : deux ancres pour la chaîne %(chain)d.") % {"chain": chain}
                )
            anchors[chain] = (int(match[2]), match[3])
    return anchors
