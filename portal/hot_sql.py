"""A cursor for the few hand-written statements on the hottest path (the access decision, the
archive's authorization callback), run as prepared statements on PostgreSQL.

Django binds parameters on the client and never prepares, so PostgreSQL plans every statement
again: for the decision's facts (eight subqueries) planning costs more than executing. These
statements are executed through a server-binding psycopg cursor that prepares them on each
connection from their second use, still through Django's cursor wrapper, so query logging and
counting (``django_assert_num_queries``) see them. Behind a connection pooler in transaction
mode, which cannot keep prepared statements, set ``DATABASE_PREPARED_STATEMENTS=false``.
Elsewhere (SQLite) this is Django's usual cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import connection

PREPARE_AFTER = 1  # executions on a connection before the statement is prepared


class _Preparing:
    """A psycopg server-binding cursor whose ``execute`` asks for preparation."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._last: tuple[str, Sequence[Any] | None] = ("", None)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        self._last = (sql, params)
        return self._cursor.execute(sql, params, prepare=None)

    @property
    def _query(self) -> Any:
        # What Django's query log reads (``last_executed_query``, only when queries are
        # logged): psycopg keeps no text for a prepared statement, so it is composed here.
        sql, params = self._last
        composed = connection.ops.compose_sql(sql, params)  # type: ignore[attr-defined]
        return SimpleNamespace(query=composed.encode())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


@contextmanager
def hot_cursor() -> Iterator[Any]:
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold != PREPARE_AFTER:
        # Django's own cursors bind on the client and never prepare: only these statements
        # are affected.
        raw.prepare_threshold = PREPARE_AFTER
    driver_cursor: Any = psycopg.Cursor(raw)
    preparing: Any = _Preparing(driver_cursor)  # stands for the driver's cursor Django wraps
    wrapped = (
        connection.make_debug_cursor(preparing)
        if connection.queries_logged
        else connection.make_cursor(preparing)
    )
    try:
        yield wrapped
    finally:
        driver_cursor.close()
