"""The process's memory of what the archive's callback read about a viewer token and a study.

A viewer opening a study makes the archive ask about each of its images, with the same token:
reading the token, its user and the decision's facts again for each image is the callback's
dearest work after the trace. The row read for (token, patient, producing establishment) is
kept here for ``ACCESS_FACTS_CACHE_S`` seconds at most (5 by default), on PostgreSQL only.
Every validation is still decided by the rules (``access.decision``) and traced, and the time
elapsed since the read is taken off the answer's ``validity``, so that no answer outlives its
facts by more than ``ACCESS_DECISION_VALIDITY_S``, as if nothing were kept here.

A change is not waited for: any write to what the facts are made of (tokens, users,
accreditations, practice sites, grants, oppositions, emergency accesses) sends a PostgreSQL
notification on commit (migration ``access.0004``), and a thread of each process listening for
it empties this memory at once. While that thread is not listening (starting, or its
connection lost), nothing is kept: every validation reads again.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

CHANNEL = "access_facts_changed"  # the triggers' notification (migration access.0004)
MAX_ENTRIES = 50_000
SPREAD = 0.2  # a row is kept between 80 and 100 % of the lifetime
# How long the listener waits for a notification at a time (and so to stop), how often it
# checks its connection when nothing is notified, and how long it waits before it connects
# again after losing it.
WAIT_S = 0.5
PROBE_S = 30.0
RETRY_S = 1.0


@dataclass(frozen=True)
class Kept:
    """A row of ``access.facts.bearer_facts`` as read at ``read_at``."""

    value: Any
    read_at: datetime.datetime
    # Set when kept: a little before the lifetime's end, at random, so that rows read
    # together (a viewer's burst, a worker's start) are not all read again together.
    kept_s: float = 0.0


def lifetime_s() -> float:
    """How long a row is kept: never as long as an answer's validity, so that an answer given
    from a kept row still has at least a second of validity."""
    validity = int(settings.ACCESS_DECISION_VALIDITY_S)
    return float(max(0, min(int(settings.ACCESS_FACTS_CACHE_S), validity - 1)))


class FactCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, Kept] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threaded workers share the process
        # Counts the changes heard: a row read before a change and stored after it was heard
        # would otherwise be kept as if fresh.
        self._generation = 0
        self._listening = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    # --- Reading and keeping ------------------------------------------------------------------

    def enabled(self) -> bool:
        """Whether rows may be kept now: PostgreSQL, a lifetime, and a listener at work."""
        if lifetime_s() <= 0 or connection.vendor != "postgresql":
            return False
        self._ensure_listener()
        return self._listening

    def generation(self) -> int:
        return self._generation

    def get(self, key: Hashable, *, now: datetime.datetime) -> Kept | None:
        with self._lock:
            kept = self._entries.get(key)
            if kept is None:
                return None
            age = (now - kept.read_at).total_seconds()
            if not 0 <= age < min(kept.kept_s, lifetime_s()):  # too old, or the clock went back
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return kept

    def put(self, key: Hashable, kept: Kept, *, generation: int) -> None:
        """Keep ``kept`` unless a change was heard since ``generation`` was taken (before the
        read)."""
        with self._lock:
            if generation != self._generation or not self._listening:
                return
            spread = random.uniform(1 - SPREAD, 1)  # noqa: S311 - not a secret
            self._entries[key] = replace(kept, kept_s=lifetime_s() * spread)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # --- Listening for changes ----------------------------------------------------------------

    def _ensure_listener(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            # A forked worker inherits neither the thread nor a usable connection.
            self._pid = pid
            self._listening = False
            self._entries.clear()
            self._stopping.clear()
            params = _listener_params(connection.get_connection_params())
            self._thread = threading.Thread(
                target=self._listen, args=(params,), name="access-facts-listener", daemon=True
            )
            self._thread.start()

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._listening = listening

    def _listen(self, params: dict[str, Any]) -> None:
        import psycopg

        failures = 0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    self._set_listening(True)
                    failures = 0
                    probed = time.monotonic()
                    while not self._stopping.is_set():
                        for _notice in listener.notifies(timeout=WAIT_S, stop_after=1):
                            self.forget()
                        if time.monotonic() - probed > PROBE_S:
                            listener.execute("SELECT 1")  # a lost connection raises here
                            probed = time.monotonic()
            except Exception:  # any failure: stop keeping, connect again
                failures += 1
                if failures == 1 and not self._stopping.is_set():
                    logger.warning(
                        "access facts listener: no connection, nothing kept until it is back",
                        exc_info=True,
                    )
            self._set_listening(False)
            self._stopping.wait(min(RETRY_S * failures, PROBE_S))

    def stop(self) -> None:
        """Stop listening and keep nothing (tests: the thread's connection would outlive
        the test database)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=WAIT_S + 5)
        self._thread = None
        self._set_listening(False)

    def wait_listening(self, timeout: float) -> bool:
        """Start the listener if needed and wait until it listens (tests, and the first
        request of a worker does not wait)."""
        self.enabled()
        deadline = time.monotonic() + timeout
        while not self._listening and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._listening


def _listener_params(params: dict[str, Any]) -> dict[str, Any]:
    # Django's parameters, without its own (adapters, cursor class, server-side binding).
    dropped = {"context", "cursor_factory", "prepare_threshold", "server_side_binding"}
    return {name: value for name, value in params.items() if name not in dropped}


facts_kept = FactCache()
