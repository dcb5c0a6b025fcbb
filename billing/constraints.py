"""A PostgreSQL exclusion constraint that the embedded SQLite demonstration skips.

Price lists must not overlap in time. PostgreSQL enforces it with an exclusion constraint on
the validity range (a GiST index, no extension needed); SQLite has no such thing, so there the
rule rests on the service's own check (SQLite serialises writers anyway). The constraint keeps
a single definition in the model and the migrations for both databases.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Func


class DateRange(Func):
    """``DATERANGE(lower, upper, bounds)``: a NULL upper bound means "no end"."""

    function = "DATERANGE"
    output_field = DateRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    """``ExclusionConstraint`` on PostgreSQL, nothing elsewhere."""

    @staticmethod
    def _postgres(schema_editor: Any) -> bool:
        return bool(schema_editor.connection.vendor == "postgresql")

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        return (
            super().constraint_sql(model, schema_editor) if self._postgres(schema_editor) else None
        )

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().create_sql(model, schema_editor) if self._postgres(schema_editor) else None

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().remove_sql(model, schema_editor) if self._postgres(schema_editor) else None

    def validate(
        self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)
