"""Histories made once per database for the module that reads them (making one drives 60
runs through the service, a few seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.store.migrate import upgrade
from tests.dbutil import fresh_postgres_schema
from tests.insights.history import Clocked, Planted, make_history

POSTGRES_URL_ENV = "TEST_DATABASE_URL"


def _database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'conductor.db'}"
        upgrade(url)
        yield url
        return
    base_url = os.environ.get(POSTGRES_URL_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    with fresh_postgres_schema(base_url) as url:
        upgrade(url)
        yield url


DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=DATABASES)
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clocked, Planted, str]]:
    """60 runs of account-setup with the planted properties (tests/insights/history.py)."""
    for url in _database(request, tmp_path_factory, "history"):
        harness, planted = make_history(url, runs=60, seed=7)
        try:
            yield harness, planted, url
        finally:
            harness.close()


@pytest.fixture(scope="module", params=DATABASES)
def small_history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clocked, Planted, str]]:
    """The same, ten runs only."""
    for url in _database(request, tmp_path_factory, "small"):
        harness, planted = make_history(url, runs=10, seed=11)
        try:
            yield harness, planted, url
        finally:
            harness.close()
