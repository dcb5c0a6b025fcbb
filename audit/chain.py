"""How a row of the trail is hashed, and into how many chains. The PostgreSQL trigger
(sql/chain.sql) computes the same digest: change both together, and the test that verifies
trigger-made rows in Python will tell.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from typing import Any

# The trail is this many independent hash chains. Each insert locks its chain's head until it
# commits (durably, a disk flush): one chain serialises every commit, about 500 per second on a
# small server's disk whatever the number of writers. The trigger gives each database session
# its own chain (its backend pid modulo CHAINS), or the next one no other transaction holds, so
# writers wait for one another only when more than CHAINS of them commit at the same moment.
# 16 is above the connections a regional portal keeps open at once (2 to 4 application
# servers, 2 workers of 2 to 4 threads each), and stays small where every chain costs something:
# 16 heads to note outside the database (``verify_audit_chain`` prints them), 16 walks for the
# verification, up to 16 anchors per purged month. The trigger, the check constraints of
# ``ChainHead`` and ``AccessEvent`` (migration 0003) and the rows already written all depend on
# it: changing it takes a migration.
CHAINS = 16
# The demo's SQLite has one writer and no trigger: its rows all go to chain 1.
PYTHON_CHAIN = 1

SEPARATOR = "\x1f"  # ASCII unit separator: no field may contain it (see ``clean_text``).

# The hashed fields, in order: the chain and the rank within it first (a row moved to another
# chain or rank no longer matches its hash), prev_hash last links the row to the one before.
FIELDS = (
    "chain",
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


def chain_numbers() -> range:
    """The chains of the trail, 1 to ``CHAINS``."""
    return range(1, CHAINS + 1)
