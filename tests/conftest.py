"""Shared fixtures: databases to run store tests against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.dbutil import fresh_postgres_schema

from bot.store.migrate import upgrade

POSTGRES_URL_ENV = "TEST_DATABASE_URL"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty (unmigrated) database.

    SQLite always, in a file under `tmp_path`. PostgreSQL when `TEST_DATABASE_URL` is set,
    as a throwaway schema in that database (dropped afterwards), so tests can share it.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conductor.db'}"
        return
    base_url = os.environ.get(POSTGRES_URL_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    with fresh_postgres_schema(base_url) as url:
        yield url


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    """Like `db_url`, with the schema migrated to head."""
    upgrade(db_url)
    return db_url
