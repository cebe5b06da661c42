"""Idempotent inserts that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


@lru_cache(maxsize=64)
def _statements(table: Table, dialect: str) -> tuple[Any, Any]:
    """(insert-or-ignore, the same returning the key), built once per table and dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing()
    key = list(table.primary_key.columns)[0]
    return statement, statement.returning(key)


def insert_or_ignore(session: Session | Connection, model: Any, rows: list[dict[str, Any]] | dict[str, Any]) -> int:
    """Insert rows, skipping any that clash with a unique key.

    For one row, returns 1 when it was new and 0 when it already existed."""
    rows = [rows] if isinstance(rows, dict) else rows
    if not rows:
        return 0
    table = getattr(model, "__table__", model)  # Core statements: plain row counts, no ORM work
    connection = session.connection() if isinstance(session, Session) else session
    plain, returning = _statements(table, connection.dialect.name)
    if len(rows) == 1:
        # RETURNING tells reliably whether the row went in (drivers differ on rowcount here).
        return len(connection.execute(returning, rows[0]).all())
    connection.execute(plain, rows)
    return -1  # not counted for several rows
