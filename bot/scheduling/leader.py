"""One clock at a time: leadership through the database.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own; if
the process dies, the server drops the connection and the lock with it, and a standby polling
for the lock takes over within seconds. On SQLite (one machine, one database file) an
exclusive lock on a file beside the database plays the same part.
"""

from __future__ import annotations

import fcntl
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.pool import NullPool

from bot.store.db import make_engine, normalize_url
from bot.store.locks import ADVISORY_LOCK_KEY, advisory_lock_key, clock_lock_file


class Leadership:
    """Try to become the clock; keep checking that we still are."""

    def __init__(self, database_url: str):
        self.url = normalize_url(database_url)
        self.backend = self.url.get_backend_name()
        self._connection: Connection | None = None
        self._engine: Any = None
        self._file: Any = None
        self._key = ADVISORY_LOCK_KEY

    def try_acquire(self) -> bool:
        if self.held():
            return True
        if self.backend == "postgresql":
            return self._acquire_postgres()
        return self._acquire_file()

    def _acquire_postgres(self) -> bool:
        self._engine = self._engine or make_engine(self.url, poolclass=NullPool)
        connection = self._engine.connect()
        self._key = advisory_lock_key(connection.execute(text("select current_schema()")).scalar_one())
        got = connection.execute(text("select pg_try_advisory_lock(:k)"), {"k": self._key}).scalar_one()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def _acquire_file(self) -> bool:
        database = self.url.database
        if not database or database == ":memory:":
            self._file = True  # a private in-memory database has one process by definition
            return True
        handle = open(clock_lock_file(database), "a+")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def held(self) -> bool:
        """Whether we are (still) the leader; a lost database connection means we are not."""
        if self._connection is not None:
            try:
                self._connection.execute(text("select 1"))
                self._connection.commit()
                return True
            except Exception:  # noqa: BLE001 - any failure means the lock may be gone
                self._connection = None
                return False
        return self._file is not None

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("select pg_advisory_unlock(:k)"), {"k": self._key})
                self._connection.commit()
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing the connection releases it anyway
                pass
            self._connection = None
        if self._file not in (None, True):
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
        self._file = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
