"""Alembic environment for Conductor.

Configured entirely from code by `bot.store.migrate.alembic_config` (no ini file, so no
logging configuration is read here). The database is either the connection handed in as
`config.attributes["connection"]` or the `sqlalchemy.url` main option.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.pool import NullPool

from bot.store.db import SQLITE_BUSY_TIMEOUT_MS, normalize_url
from bot.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render model-only column types as the plain SQLAlchemy types they store as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": _render_item,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    url = normalize_url(config.get_main_option("sqlalchemy.url") or "")
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_transactional_ddl(engine: Any) -> None:
    """Make SQLite migrations atomic and safe for table rebuilds.

    pysqlite only opens transactions before DML, so DDL would autocommit statement by
    statement; taking over BEGIN makes a failed migration roll back. Foreign keys stay
    off, as SQLite requires for batch table rebuilds (dropping a parent table with them
    on would cascade into its children).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def run_migrations_online() -> None:
    """Run against the handed-in connection, or a short-lived engine for the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    url = normalize_url(config.get_main_option("sqlalchemy.url") or "")
    engine = create_engine(url, poolclass=NullPool)
    if url.get_backend_name() == "sqlite":
        _sqlite_transactional_ddl(engine)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
