from __future__ import annotations

from portal.celery import idempotent_task


@idempotent_task(name="audit.ensure_partitions")
def ensure_partitions() -> list[str]:
    """Create the trail's monthly partitions a few months ahead (PostgreSQL)."""
    from audit.partitions import ensure_current_partitions

    return ensure_current_partitions()
