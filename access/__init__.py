"""Per-patient access. ``access.decide`` is the one door to patient data (DESIGN.md)."""

from __future__ import annotations

from typing import Any


def decide(**kwargs: Any) -> Any:
    """See ``access.decision.decide`` (imported late: apps load before models)."""
    from access.decision import decide as _decide

    return _decide(**kwargs)
