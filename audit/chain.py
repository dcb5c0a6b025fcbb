"""How a row of the trail is hashed. The PostgreSQL trigger (sql/chain.sql) computes the same
digest: change both together, and the test that verifies trigger-made rows in Python will tell.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from typing import Any

SEPARATOR = "\x1f"  # ASCII unit separator: no field may contain it (see ``clean_text``).

# The hashed fields, in order; prev_hash last links the row to the one before.
FIELDS = (
    "chain_seq",
    "recorded_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "actor_practitioner_id",
    "patient_id",
    "study_id",
    "study_instance_uid",
    "establishment_id",
    "action",
    "channel",
    "granted",
    "rule",
    "purpose",
    "grant_id",
    "break_glass_id",
    "source_ip",
    "prev_hash",
)


def clean_text(value: str) -> str:
    return value.replace(SEPARATOR, " ")


def canonical_text(value: Any) -> str:
    """A field as it enters the digest (the retention export writes fields this way too)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return str(value)


def digest(values: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of a row's hashed fields."""
    canonical = SEPARATOR.join(canonical_text(values[name]) for name in FIELDS)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
