"""A small per-process cache for answers that may be a few seconds stale, on hot paths where
even a round trip to Redis costs more than the work it saves (the archive's authorization
callback). Every entry lives at most ``ttl_s()`` seconds and the cache holds at most
``max_entries``; tests clear every instance between runs (``clear_all``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_instances: weakref.WeakSet[LocalTtlCache[object]] = weakref.WeakSet()


class LocalTtlCache(Generic[V]):
    def __init__(self, *, max_entries: int, ttl_s: Callable[[], float]) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._lock = threading.Lock()  # gunicorn's threaded workers share the process
        _instances.add(self)  # type: ignore[arg-type]

    def get(self, key: Hashable) -> V | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: Hashable, value: V) -> None:
        expires = time.monotonic() + self._ttl_s()
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    """Empty every per-process cache (tests: nothing leaks from one test to the next)."""
    for instance in list(_instances):
        instance.clear()
