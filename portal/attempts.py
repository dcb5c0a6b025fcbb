"""Counting attempts in a window, in the shared cache (Redis): what brute force is held to
(patient access codes, API keys). A window starts at its first attempt and lasts
``window_s``; the counters are shared by every process."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import cache


def attempts_count(keys: Sequence[str], *, window_s: int) -> int:
    """Count one attempt under each of ``keys``; the highest count among them."""
    highest = 0
    for key in keys:
        cache.add(key, 0, window_s)
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, window_s)
            count = 1
        highest = max(highest, count)
    return highest


def attempts_so_far(key: str) -> int:
    """The attempts counted under ``key`` in its current window (0 when none)."""
    return int(cache.get(key) or 0)
