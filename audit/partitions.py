"""Monthly partitions of the trail (PostgreSQL only; SQLite keeps one plain table).

A row whose month has no partition cannot be written, and an access that cannot be traced is
refused: the migration and a daily task create partitions ahead of time.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db import connections

PARENT = "audit_accessevent"
MONTHS_AHEAD = 3
_NAME = re.compile(r"^audit_accessevent_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: datetime.date


def is_partitioned(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(month: datetime.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def ensure_partitions(
    *, first: datetime.date, last: datetime.date, using: str = "default"
) -> list[str]:
    """Create the monthly partitions from ``first``'s month to ``last``'s; return the new ones."""
    if not is_partitioned(using):
        return []
    existing = {partition.name for partition in partitions(using=using)}
    created = []
    month = month_start(first)
    with connections[using].cursor() as cursor:
        while month <= month_start(last):
            name = partition_name(month)
            if name not in existing:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
                    "FOR VALUES FROM (%s) TO (%s)",
                    [f"{month:%Y-%m-%d} 00:00:00+00", f"{next_month(month):%Y-%m-%d} 00:00:00+00"],
                )
                created.append(name)
            month = next_month(month)
    return created


def ensure_current_partitions(
    *, today: datetime.date | None = None, using: str = "default"
) -> list[str]:
    """Partitions for last month (late rows near midnight UTC), this month and the next few."""
    month = month_start(today or datetime.datetime.now(datetime.UTC).date())
    return ensure_partitions(
        first=add_months(month, -1), last=add_months(month, MONTHS_AHEAD), using=using
    )


def partitions(*, using: str = "default") -> list[Partition]:
    """The trail's monthly partitions, oldest first."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = %s",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(Partition(name, datetime.date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda partition: partition.month)
