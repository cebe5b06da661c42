"""Idempotent inserts that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: Any, rows: list[dict[str, Any]] | dict[str, Any]) -> int:
    """Insert rows, skipping any that clash with a unique key.

    For one row, returns 1 when it was new and 0 when it already existed."""
    rows = [rows] if isinstance(rows, dict) else rows
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = getattr(model, "__table__", model)  # Core statements: plain row counts, no ORM work
    statement = insert(table).on_conflict_do_nothing()
    if len(rows) == 1:
        # RETURNING tells reliably whether the row went in (drivers differ on rowcount here).
        key = list(table.primary_key.columns)[0]
        return len(session.execute(statement.values(**rows[0]).returning(key)).all())
    session.execute(statement, rows)
    return -1  # not counted for several rows
