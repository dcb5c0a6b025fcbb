"""Checking the trail's hash chains: is every row as it was written, and is none missing?

The trail is ``audit.chain.CHAINS`` independent chains. ``chain_verify`` walks each chain by rank
(``chain_seq``), recomputes each digest (``audit.chain.digest``, which covers the chain number
and the rank), checks that each row points at the one before it in its chain and that ranks
follow one another, and ends on that chain's head, so that a removed tail is caught as well. It
stops each chain at its first broken record and says what is wrong with it; a row that belongs
to none of the chains is a break too.

Months purged by the retention command left a ``RetentionAnchor`` per chain behind: its
``last_hash`` is the anchor the chain's first remaining row must point at, and the ranks it
covers are not "missing".
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from audit.chain import CHAINS, chain_numbers, digest
from audit.models import GENESIS_HASH, RetentionAnchor
from audit.selectors import (
    BATCH_SIZE,
    access_event_at,
    access_event_before,
    access_event_first_since,
    access_event_outside_chains,
    access_events_in_chain_order,
    chain_heads,
    retention_anchors_by_chain,
)

PROGRESS_EVERY = 100_000


class Flaw(enum.StrEnum):
    ALTERED = "altered"
    BROKEN_LINK = "broken_link"
    MISSING = "missing"
    DUPLICATE = "duplicate"
    BEYOND_HEAD = "beyond_head"
    TAIL_REMOVED = "tail_removed"
    HEAD_MISMATCH = "head_mismatch"
    ANCHOR_MISMATCH = "anchor_mismatch"
    OUTSIDE_CHAINS = "outside_chains"


@dataclass(frozen=True)
class Break:
    """The first broken record of a chain: the row it was found at (if one still exists) and
    why. ``chain`` is None for a row that belongs to no chain."""

    flaw: Flaw
    detail: str
    chain: int | None = None
    chain_seq: int | None = None
    event_id: int | None = None
    recorded_at: datetime.datetime | None = None
    # True when the fault lies after the named row (its successors were removed).
    after_row: bool = False
    missing: tuple[int, int] | None = None

    def __str__(self) -> str:
        if self.chain is None:
            return _("Trace des accès rompue : %(detail)s.") % {"detail": self.detail}
        if self.chain_seq is None or self.recorded_at is None:
            return _("Chaîne %(chain)d rompue : %(detail)s.") % {
                "chain": self.chain,
                "detail": self.detail,
            }
        values = {
            "chain": self.chain,
            "seq": self.chain_seq,
            "id": self.event_id,
            "at": self.recorded_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        if self.after_row:
            where = _(
                "Chaîne %(chain)d rompue après la trace #%(seq)d (id %(id)d, enregistrée le "
                "%(at)s) : "
            )
        else:
            where = _(
                "Chaîne %(chain)d rompue à la trace #%(seq)d (id %(id)d, enregistrée le %(at)s) : "
            )
        return where % values + f"{self.detail}."


@dataclass(frozen=True)
class ChainReport:
    """What the verification of one chain found. ``broken`` is None when the chain holds."""

    chain: int
    checked: int
    first_seq: int | None
    last_seq: int | None
    head_seq: int
    head_hash: str
    broken: Break | None = None
    # An external anchor (rank, hash) noted earlier: True checked, False purged since.
    anchor_checked: bool | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class TrailReport:
    """What the verification of every chain found; ``outside`` is a row of no chain."""

    chains: tuple[ChainReport, ...]
    outside: Break | None = None

    @property
    def breaks(self) -> list[Break]:
        """Each broken chain's first broken record, by chain, then a row of no chain."""
        found = [report.broken for report in self.chains if report.broken is not None]
        return found + ([self.outside] if self.outside is not None else [])

    @property
    def broken(self) -> Break | None:
        """The first broken record, in the first broken chain."""
        breaks = self.breaks
        return breaks[0] if breaks else None

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def checked(self) -> int:
        return sum(report.checked for report in self.chains)

    def chain(self, number: int) -> ChainReport:
        return self.chains[number - 1]


@dataclass
class _Link:
    """The last link walked (or the virtual link 0, the genesis, before the first row)."""

    seq: int
    hash: str
    row: Mapping[str, Any] | None = None


class _Purges:
    """The ranks of one chain that retention removed, from its ``RetentionAnchor`` rows.

    A month's ranks in a chain are usually one contiguous block; rows written within a few
    milliseconds of midnight UTC on the first of a month may interleave with the next month's,
    so a purged block can hold a few ranks that still exist ("survivors"). Each block of
    adjacent or overlapping anchors must then hold exactly its purged rows plus its survivors.
    """

    def __init__(self, anchors: Iterable[RetentionAnchor]) -> None:
        self.runs = sorted(anchors, key=lambda anchor: anchor.first_seq)
        self.anchors = {anchor.last_seq: anchor for anchor in self.runs}
        self.blocks: list[list[int]] = []  # [first, last, purged rows, survivors]
        for anchor in self.runs:
            if self.blocks and anchor.first_seq <= self.blocks[-1][1] + 1:
                block = self.blocks[-1]
                block[1] = max(block[1], anchor.last_seq)
                block[2] += anchor.row_count
            else:
                self.blocks.append([anchor.first_seq, anchor.last_seq, anchor.row_count, 0])
        self.highest = max((block[1] for block in self.blocks), default=0)

    def covers(self, first: int, last: int) -> bool:
        return self.uncovered(first, last) is None

    def uncovered(self, first: int, last: int) -> tuple[int, int] | None:
        """The first stretch of ranks in [first, last] that no purge accounts for."""
        for block in self.blocks:
            if block[0] <= first <= block[1]:
                first = block[1] + 1
        if first > last:
            return None
        following = [block[0] for block in self.blocks if block[0] > first]
        return first, min([last, *(start - 1 for start in following)])

    def anchor(self, seq: int) -> RetentionAnchor | None:
        return self.anchors.get(seq)

    def count_survivor(self, seq: int) -> None:
        if seq > self.highest:
            return
        for block in self.blocks:
            if block[0] <= seq <= block[1]:
                block[3] += 1
                return

    def incomplete_block(self, *, walked_from: int) -> tuple[int, int] | None:
        """A purged block (fully walked over) whose ranks are not all accounted for."""
        for first, last, purged, survivors in self.blocks:
            if first >= walked_from and last - first + 1 != purged + survivors:
                return first, last
        return None


def chain_verify(
    *,
    since: datetime.date | None = None,
    anchors: Mapping[int, tuple[int, str]] | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int, int], None] | None = None,
) -> TrailReport:
    """Verify every chain of the trail, from its start or from its first row recorded on or
    after ``since`` (UTC); ``anchors`` maps a chain to a (rank, hash) noted earlier, outside the
    database. ``progress`` is told (rows checked, chain, rank) every ``PROGRESS_EVERY`` rows.

    On PostgreSQL the walk reads one snapshot (REPEATABLE READ, read only), so rows written
    meanwhile neither pass for forgeries nor hide a removed tail.
    """
    anchors = anchors or {}
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _verify(since=since, anchors=anchors, batch_size=batch_size, progress=progress)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify(since=since, anchors=anchors, batch_size=batch_size, progress=progress)


def _verify(
    *,
    since: datetime.date | None,
    anchors: Mapping[int, tuple[int, str]],
    batch_size: int,
    progress: Callable[[int, int, int], None] | None,
) -> TrailReport:
    heads = chain_heads()
    purged = retention_anchors_by_chain()
    reports: list[ChainReport] = []
    done = 0
    for chain in chain_numbers():
        head_seq, head_hash = heads[chain]
        walk = _Walk(
            chain=chain,
            head_seq=head_seq,
            head_hash=head_hash,
            purges=_Purges(purged.get(chain, [])),
            anchor=anchors.get(chain),
        )

        def tell(checked: int, seq: int, chain: int = chain, done: int = done) -> None:
            if progress is not None:
                progress(done + checked, chain, seq)

        walk.run(since=since, batch_size=batch_size, progress=tell)
        reports.append(walk.result())
        done += walk.checked
    return TrailReport(chains=tuple(reports), outside=_outside_chains())


def _outside_chains() -> Break | None:
    row = access_event_outside_chains()
    if row is None:
        return None
    return Break(
        Flaw.OUTSIDE_CHAINS,
        _(
            "la trace id %(id)d (rang #%(seq)s) porte le numéro de chaîne %(chain)s, hors des "
            "chaînes 1 à %(count)d (trace ajoutée hors du déclencheur)"
        )
        % {"id": row["id"], "seq": row["chain_seq"], "chain": row["chain"], "count": CHAINS},
        event_id=row["id"],
    )


@dataclass
class _Walk:
    """One chain, walked by rank."""

    chain: int
    head_seq: int
    head_hash: str
    purges: _Purges
    anchor: tuple[int, str] | None
    last: _Link = field(default_factory=lambda: _Link(0, GENESIS_HASH))
    checked: int = 0
    first_seq: int | None = None
    broken: Break | None = None
    anchor_checked: bool | None = None

    def run(
        self,
        *,
        since: datetime.date | None,
        batch_size: int,
        progress: Callable[[int, int], None],
    ) -> None:
        start: Mapping[str, Any] | None = None
        if since is not None:
            moment = datetime.datetime.combine(since, datetime.time(), tzinfo=datetime.UTC)
            start = access_event_first_since(chain=self.chain, moment=moment)
            # The row before the range (if it still exists) vouches for the first row's link.
            before = access_event_before(
                chain=self.chain, seq=start["chain_seq"] if start else self.head_seq + 1
            )
            if before is not None:
                self.last = _Link(before["chain_seq"], before["hash"], before)
        walked_from = self.last.seq + 1
        if since is None or start is not None:
            rows = access_events_in_chain_order(
                chain=self.chain,
                from_seq=start["chain_seq"] if start else None,
                batch_size=batch_size,
            )
            for row in rows:
                if self.take(row):
                    break
                if self.checked % PROGRESS_EVERY == 0:
                    progress(self.checked, row["chain_seq"])
        if self.broken is None:
            self.finish(walked_from=walked_from)

    def take(self, row: Mapping[str, Any]) -> bool:
        """Check one row against the last link; True when it breaks the chain."""
        seq = row["chain_seq"]
        self.broken = self._fault(row)
        if self.broken is not None:
            return True
        if self.anchor is not None and seq == self.anchor[0]:
            self.anchor_checked = True
            if row["hash"] != self.anchor[1]:
                self.broken = _at(
                    row,
                    Flaw.ANCHOR_MISMATCH,
                    _("son empreinte n'est plus celle notée hors de la base (%(hash)s)")
                    % {"hash": self.anchor[1]},
                )
                return True
        self.purges.count_survivor(seq)
        self.checked += 1
        self.first_seq = seq if self.first_seq is None else self.first_seq
        self.last = _Link(seq, row["hash"], row)
        return False

    def _fault(self, row: Mapping[str, Any]) -> Break | None:
        seq = row["chain_seq"]
        if seq <= self.last.seq:
            return _at(
                row,
                Flaw.DUPLICATE,
                _("le rang #%(seq)d figure déjà dans la chaîne (trace ajoutée hors du déclencheur)")
                % {"seq": seq},
            )
        expected_prev: str | None = self.last.hash
        described = _("la trace #%(seq)d") % {"seq": self.last.seq}
        if seq > self.last.seq + 1:
            gap = self.purges.uncovered(self.last.seq + 1, seq - 1)
            if gap is not None:
                return _at(
                    row,
                    Flaw.MISSING,
                    _("traces manquantes entre #%(first)d et #%(last)d")
                    % {"first": gap[0], "last": gap[1]},
                    missing=gap,
                )
            purge = self.purges.anchor(seq - 1)
            # A survivor of an interleaved month boundary follows a purged row whose hash
            # only the export holds: its link cannot be checked here.
            expected_prev = purge.last_hash if purge is not None else None
            if purge is not None:
                described = _("l'ancre de la purge de %(month)s") % {
                    "month": f"{purge.run.month:%Y-%m}"
                }
        elif self.last.seq == 0:
            described = _("l'origine de la chaîne")
        # The digest covers the chain and the rank: a row moved to another chain or rank by
        # hand no longer matches its hash.
        if digest(row) != row["hash"]:
            return _at(
                row,
                Flaw.ALTERED,
                _("contenu modifié (l'empreinte recalculée diffère de l'empreinte enregistrée)"),
            )
        if expected_prev is not None and row["prev_hash"] != expected_prev:
            return _at(
                row,
                Flaw.BROKEN_LINK,
                _("lien rompu (son empreinte précédente ne correspond pas à %(previous)s)")
                % {"previous": described},
            )
        if seq > self.head_seq:
            return _at(
                row,
                Flaw.BEYOND_HEAD,
                _("trace au-delà de la tête de chaîne (#%(head)d), ajoutée hors du déclencheur")
                % {"head": self.head_seq},
            )
        return None

    def finish(self, *, walked_from: int) -> None:
        """After the last row: the head must be that row (or a purged rank's anchor)."""
        last = self.last
        if last.seq < self.head_seq:
            purge = self.purges.anchor(self.head_seq)
            gap = self.purges.uncovered(last.seq + 1, self.head_seq)
            if gap is not None:
                detail = _(
                    "fin de chaîne supprimée, traces #%(first)d à #%(last)d absentes "
                    "(la tête de chaîne est au rang #%(head)d)"
                ) % {"first": gap[0], "last": gap[1], "head": self.head_seq}
                self.broken = self._after(last, Flaw.TAIL_REMOVED, detail, missing=gap)
                return
            if purge is not None and purge.last_hash != self.head_hash:
                self.broken = self._after(
                    last, Flaw.HEAD_MISMATCH, _("la tête de chaîne ne correspond pas à la purge")
                )
                return
        elif last.hash != self.head_hash:
            detail = _(
                "la tête de chaîne (#%(head)d) porte une autre empreinte que cette trace "
                "(trace réécrite avec une nouvelle empreinte, ou tête modifiée)"
            ) % {"head": self.head_seq}
            self.broken = (
                _at(last.row, Flaw.HEAD_MISMATCH, detail)
                if last.row is not None
                else Break(Flaw.HEAD_MISMATCH, detail, chain=self.chain)
            )
            return
        block = self.purges.incomplete_block(walked_from=walked_from)
        if block is not None:
            self.broken = Break(
                Flaw.MISSING,
                _("traces manquantes dans la plage purgée #%(first)d à #%(last)d")
                % {"first": block[0], "last": block[1]},
                chain=self.chain,
                missing=block,
            )
            return
        if self.anchor is not None and not self.anchor_checked:
            self._check_anchor_elsewhere(*self.anchor)

    def _check_anchor_elsewhere(self, seq: int, expected: str) -> None:
        """The anchor lies outside the walked range: before ``--from``, or purged."""
        if seq > self.head_seq:
            self.broken = Break(
                Flaw.ANCHOR_MISMATCH,
                _(
                    "la trace #%(seq)d notée hors de la base n'existe plus et la tête de chaîne "
                    "est revenue au rang #%(head)d"
                )
                % {"seq": seq, "head": self.head_seq},
                chain=self.chain,
            )
            return
        row = access_event_at(chain=self.chain, seq=seq)
        if row is not None:
            self.anchor_checked = True
            if row["hash"] != expected:
                self.broken = _at(
                    row,
                    Flaw.ANCHOR_MISMATCH,
                    _("son empreinte n'est plus celle notée hors de la base (%(hash)s)")
                    % {"hash": expected},
                )
            return
        purge = self.purges.anchor(seq)
        if purge is not None:
            self.anchor_checked = True
            if purge.last_hash != expected:
                self.broken = Break(
                    Flaw.ANCHOR_MISMATCH,
                    _("l'ancre de la purge de %(month)s diffère de l'empreinte notée (%(hash)s)")
                    % {"month": f"{purge.run.month:%Y-%m}", "hash": expected},
                    chain=self.chain,
                )
            return
        if self.purges.covers(seq, seq):
            self.anchor_checked = False
            return
        self.broken = Break(
            Flaw.MISSING,
            _("la trace #%(seq)d notée hors de la base a disparu") % {"seq": seq},
            chain=self.chain,
            missing=(seq, seq),
        )

    def _after(
        self, link: _Link, flaw: Flaw, detail: str, *, missing: tuple[int, int] | None = None
    ) -> Break:
        if link.row is None:
            return Break(flaw, detail, chain=self.chain, missing=missing)
        return Break(
            flaw,
            detail,
            chain=self.chain,
            chain_seq=link.row["chain_seq"],
            event_id=link.row["id"],
            recorded_at=link.row["recorded_at"],
            after_row=True,
            missing=missing,
        )

    def result(self) -> ChainReport:
        return ChainReport(
            chain=self.chain,
            checked=self.checked,
            first_seq=self.first_seq,
            last_seq=self.last.seq if self.checked else None,
            head_seq=self.head_seq,
            head_hash=self.head_hash,
            broken=self.broken,
            anchor_checked=self.anchor_checked,
        )


def _at(
    row: Mapping[str, Any], flaw: Flaw, detail: str, *, missing: tuple[int, int] | None = None
) -> Break:
    return Break(
        flaw,
        detail,
        chain=row["chain"],
        chain_seq=row["chain_seq"],
        event_id=row["id"],
        recorded_at=row["recorded_at"],
        missing=missing,
    )
