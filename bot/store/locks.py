"""The names of the clock's lock, which the leading clock holds and `conductor doctor` looks
for: a PostgreSQL advisory lock per schema, or a file beside a SQLite database."""

from __future__ import annotations

import hashlib
import os

# Any constant both processes agree on: the lock's name, as a 64-bit number.
ADVISORY_LOCK_KEY = 0x436F6E6475637472  # "Conductr"


def advisory_lock_key(schema: str | None) -> int:
    """The lock's number for the schema Conductor's tables live in. Advisory locks belong to
    the whole database, so two installations in two schemas of one database (or two test
    sessions) would otherwise share one clock; `public` keeps the historical number."""
    if schema in (None, "public"):
        return ADVISORY_LOCK_KEY
    digest = hashlib.sha256(f"conductor-clock:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def clock_lock_file(database: str) -> str:
    """The file the leading clock of a SQLite database holds an exclusive lock on."""
    return f"{os.path.abspath(database)}.clock.lock"
