"""The database: reachable, at the newest revision, and led by a clock.

Only reads. The clock is the process holding the leadership lock of `bot.scheduling.leader`:
on PostgreSQL its advisory lock, seen in `pg_locks` (nothing is taken); on SQLite the lock on
the file beside the database, tried for an instant with a shared, non-blocking flock (a clock
starting at that very instant stands by and tries again at its next poll).
"""

from __future__ import annotations

import fcntl
import os

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, create_engine
from sqlalchemy import text as sql
from sqlalchemy.pool import NullPool

from bot.doctor import text
from bot.doctor.check import Check
from bot.store.db import normalize_url
from bot.store.locks import advisory_lock_key, clock_lock_file
from bot.store.migrate import MIGRATIONS_DIR, head

CONNECT_TIMEOUT_SECONDS = 5
# A bigint advisory lock shows in pg_locks as its high and low 32 bits, with objsubid 1.
_HELD = sql("""
    select count(*) from pg_locks
    where locktype = 'advisory' and granted and objsubid = 1
      and database = (select oid from pg_database where datname = current_database())
      and classid::bigint = :high and objid::bigint = :low
""")


def display(url: URL) -> str:
    """The database as people recognise it, without password or options."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.set(query={}).render_as_string(hide_password=True)


def check_database(database_url: str) -> list[Check]:
    """The revision line and the clock line."""
    try:
        url = normalize_url(database_url)
    except Exception as exc:  # noqa: BLE001 - a URL SQLAlchemy cannot read
        return [text.database_unreachable("DATABASE_URL", str(exc)), text.clock_unchecked()]
    where, sqlite = display(url), url.get_backend_name() == "sqlite"
    if sqlite and url.database not in (None, "", ":memory:") and not os.path.exists(url.database):
        return [text.database_file_missing(url.database), text.clock_unchecked()]
    connect_args = {} if sqlite else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            revision = revision_check(where, MigrationContext.configure(connection).get_current_revision())
            clock = sqlite_clock(url.database) if sqlite else postgres_clock(connection)
    except Exception as exc:  # noqa: BLE001 - whatever stops the connection is the finding
        return [text.database_unreachable(where, _reason(exc)), text.clock_unchecked()]
    finally:
        engine.dispose()
    return [revision, clock]


def revision_check(where: str, current: str | None) -> Check:
    newest = head()
    if current is None:
        return text.database_empty(where)
    if current == newest:
        return text.database_ok(where, current)
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    if current in known:
        return text.database_behind(where, current, newest)
    return text.database_unknown_revision(where, current)


def postgres_clock(connection: Connection) -> Check:
    schema = connection.execute(sql("select current_schema()")).scalar_one()
    key = advisory_lock_key(schema) & 0xFFFF_FFFF_FFFF_FFFF
    held = connection.execute(_HELD, {"high": key >> 32, "low": key & 0xFFFF_FFFF}).scalar_one()
    return text.clock_leads(text.advisory_lock(schema)) if held else text.clock_missing()


def sqlite_clock(database: str | None) -> Check:
    if not database or database == ":memory:":
        return text.clock_in_memory()
    path = clock_lock_file(database)
    if not os.path.exists(path):
        return text.clock_missing()
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return text.clock_leads(f"{database}.clock.lock")
        fcntl.flock(handle, fcntl.LOCK_UN)
    return text.clock_missing()


def _reason(exc: BaseException) -> str:
    found = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(found).splitlines() if line.strip()]
    return lines[0] if lines else type(found).__name__
