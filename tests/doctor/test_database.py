"""The database lines: reachable, at the newest revision, and a clock leading it; on SQLite and
PostgreSQL. Only reads: nothing is created, migrated or locked for longer than an instant."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.doctor.database import check_database, display
from bot.doctor.report import format_check
from bot.scheduling.leader import Leadership
from bot.store.db import normalize_url
from bot.store.migrate import upgrade

UPGRADE = "run `conductor db upgrade`"
NO_CLOCK = "FAIL  clock: no clock leads — start `conductor clock` (or `conductor serve` with its clock)"


def lines(url: str) -> list[str]:
    return [format_check(check) for check in check_database(url)]


def test_from_empty_to_migrated_and_led(db_url: str):
    where = display(normalize_url(db_url))
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        assert lines(db_url) == [
            f"FAIL  database: {path} does not exist — {UPGRADE} (it creates it), or set DATABASE_URL",
            "skip  clock: checked once the database is reachable and migrated"]
        assert not Path(path).exists()  # the doctor created nothing
        sqlite3.connect(path).close()
    assert lines(db_url) == [f"FAIL  database: {where} has no Conductor tables yet — {UPGRADE}", NO_CLOCK]
    upgrade(db_url, "0003")
    assert lines(db_url)[0] == f"FAIL  database: {where} is at revision 0003, the newest is 0008 — {UPGRADE}"
    upgrade(db_url)
    assert lines(db_url) == [f"ok    database: {where} is at the newest revision (0008)", NO_CLOCK]
    leadership = Leadership(db_url)
    assert leadership.try_acquire()
    try:
        found = lines(db_url)
        assert found[1].startswith("ok    clock: a clock leads (it holds ")
        if db_url.startswith("postgresql"):
            assert found[1].endswith("the advisory lock of schema conductor_test_" + found[1].split("conductor_test_")[1])
        else:
            assert found[1].endswith(".clock.lock)")
        # An instant's look leaves the lock with the clock.
        assert leadership.held() and not Leadership(db_url).try_acquire()
    finally:
        leadership.release()
    assert lines(db_url)[1] == NO_CLOCK


def test_a_revision_this_release_does_not_know(migrated_db_url: str):
    engine = create_engine(normalize_url(migrated_db_url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("update alembic_version set version_num = '0099'"))
    engine.dispose()
    where = display(normalize_url(migrated_db_url))
    assert lines(migrated_db_url)[0] == (
        f"FAIL  database: {where} is at revision 0099, which this release does not know — "
        "run the newer release that migrated it (or restore a backup)")


def test_unreachable_postgres_and_unreadable_urls():
    found = lines("postgresql://someone:hunter2@127.0.0.1:1/conductor")
    assert found[0].startswith("FAIL  database: cannot connect to postgresql+psycopg://someone:***@127.0.0.1:1/conductor: ")
    assert found[0].endswith("— check DATABASE_URL and that the server is up")
    assert found[1] == "skip  clock: checked once the database is reachable and migrated"
    assert not [line for line in found if "hunter2" in line]
    assert lines("not a url")[0].startswith("FAIL  database: cannot connect to DATABASE_URL: ")


def test_in_memory_sqlite_has_no_clock_to_look_for():
    assert lines("sqlite://")[1] == (
        "skip  clock: an in-memory SQLite database lives in one process, which is its own clock")
