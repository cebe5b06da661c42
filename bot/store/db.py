"""Engines and sessions.

Sessions are owned by the caller and passed in to whatever needs one; nothing in the
store opens a session behind the caller's back.

    engine = make_engine(get_settings().database_url)
    Session = make_session_factory(engine)
    with session_scope(Session) as session:
        session.add(...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

# How long a SQLite connection waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, choosing the installed psycopg 3 driver for bare PostgreSQL URLs.

    `postgresql://...` (and the `postgres://...` spelling some hosts hand out) would
    otherwise select psycopg2, which is not a dependency.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`, configured for how Conductor uses the database.

    SQLite: usable from several threads, WAL journal (readers do not block the writer),
    foreign keys enforced, and a busy timeout instead of failing at once on a lock.
    PostgreSQL: connections are pinged before use, so a restarted server is survived.
    Extra keyword arguments go to `sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event start transactions (see `_begin_immediate`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives a crash of the process; only a power loss can undo the
        # last commits. It removes an fsync from every commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


READ_ONLY = {"conductor_read_only": True}  # execution options of a connection that only reads


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    Two transactions that both read and then write would otherwise deadlock on the lock
    upgrade (one fails at once with "database is locked"); taking it up front makes the
    second simply wait, up to the busy timeout. A connection that only reads (marked with
    `READ_ONLY`) takes no lock, so it can look things up while a writer holds the lock.
    """
    if connection.get_execution_options().get("conductor_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits if the block succeeds and rolls back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
