"""Shared fixtures: databases to run store tests against, and the hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bot.store.migrate import upgrade
from tests.dbutil import fresh_postgres_schema

POSTGRES_URL_ENV = "TEST_DATABASE_URL"


def _in_ci() -> bool:
    """`CI` set to anything but empty, `0` or `false` (as CI services and `.ci/run` set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


# Property tests and fuzzers. In CI the same examples every run (a fixed seed, no example
# database carried between runs), so the suite passes or fails by the code alone, and a failure
# prints the blob that reproduces it; a failing case found is kept as an `@example` on its test.
# Elsewhere they keep exploring with fresh draws, and the local `.hypothesis` database replays
# what failed before. `pytest --hypothesis-profile=ci|dev` picks one by hand. No deadline in
# either: on a busy machine a slow example is not a failure (tests never assert wall-clock times).
# Both start from hypothesis' own defaults: hypothesis itself switches to a CI profile when a
# `CI` variable exists at all, even `CI=0`, and a profile otherwise inherits whatever is loaded.
_DEFAULTS = settings.get_profile("default")
settings.register_profile(
    "ci", _DEFAULTS, derandomize=True, database=None, print_blob=True, deadline=None
)
settings.register_profile("dev", _DEFAULTS, deadline=None)
settings.load_profile("ci" if _in_ci() else "dev")


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
