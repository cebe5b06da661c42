"""Database helpers shared by tests and benchmarks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.store.db import make_engine, normalize_url

SCHEMA_PREFIX = "conductor_test_"


@contextmanager
def fresh_postgres_schema(base_url: str) -> Iterator[str]:
    """Create an empty schema in the PostgreSQL database at `base_url`, yield a URL whose
    connections use it (through `search_path`), and drop it with everything in it after.

    Several test sessions can share one database this way. Dispose of any engine made from
    the yielded URL before the block ends, or the final DROP may wait on its connections.
    """
    base = normalize_url(base_url)
    if base.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {base.render_as_string()}")
    schema = SCHEMA_PREFIX + secrets.token_hex(6)
    options = " ".join(filter(None, [base.query.get("options"), f"-csearch_path={schema}"]))
    url = base.update_query_dict({"options": options}).render_as_string(hide_password=False)

    admin = make_engine(base, poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield url
        finally:
            with admin.begin() as connection:
                # Fail rather than hang if a leaked connection still holds locks here.
                connection.execute(text("SET LOCAL lock_timeout = '30s'"))
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
