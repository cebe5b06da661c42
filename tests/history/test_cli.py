"""The commands themselves: `conductor report standups` and `conductor history export`, on the
database DATABASE_URL names. (--since reaches back far enough that the wall clock's date does
not matter.)"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.settings import get_settings

EVER = "5200w"


@pytest.fixture
def cli(built, migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)
    get_settings.cache_clear()


def test_report_standups(cli):
    result = cli("report", "standups", "--since", EVER, "--workflow", "team-standup", "--format", "json")
    assert result.exit_code == 0
    assert [(r["person"], r["status"]) for r in json.loads(result.output)] == [
        ("U20ANA", "answered"), ("U21BEN", "answered"), ("U22CAR", "late"), ("U23DAN", "away"), ("U24EVE", "missing")]
    csv_out = cli("report", "standups", "--since", EVER).output
    assert csv_out.splitlines()[0].startswith("date,workflow,run_id") and len(csv_out.splitlines()) == 6


def test_history_export_to_a_file(cli, tmp_path):
    target = tmp_path / "history.jsonocel"
    result = cli("history", "export", "--since", EVER, "--format", "ocel", "-o", str(target))
    assert result.exit_code == 0 and result.output == ""
    assert {"objectTypes", "eventTypes", "objects", "events"} == set(json.loads(target.read_text()))
    assert "<trace>" in cli("history", "export", "--since", EVER, "--format", "xes").output
    private = cli("history", "export", "--since", EVER, "--format", "csv", "--include-private").output
    assert "s3cr3t" in private and "s3cr3t" not in cli("history", "export", "--since", EVER, "--format", "csv").output


def test_refusals(cli):
    assert cli("history", "export", "--since", EVER).exit_code == 2  # --format is required
    bad = cli("report", "standups", "--since", "a month")
    assert bad.exit_code == 2 and "is not a duration" in bad.output
    assert "admins only" in cli("history", "export", "--help").output.lower()


def test_a_database_without_a_schema_is_one_line(monkeypatch, tmp_path):
    from bot.store.migrate import current

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["history", "export", "--format", "csv"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and result.output.splitlines() == [
        "event_id,time,activity,run_id,workflow,workflow_version,step_id,step_kind,attempt,actor,actor_kind,"
        "related,attributes"]
    assert current(url) is not None  # SQLite is migrated as serve, clock and shell do
