"""`conductor insights` as people run it: text with bar charts, JSON, CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from bot import settings as settings_module
from bot.cli import main
from tests.insights.history import WORKFLOWS


@pytest.fixture
def run_cli(history, monkeypatch):
    harness, _, url = history
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("WORKFLOWS_DIR", WORKFLOWS)
    settings_module.get_settings.cache_clear()
    at = harness.now.strftime("%Y-%m-%d %H:%M")

    def run(*args: str):
        return CliRunner().invoke(main, ["insights", "--now", at, "--since", "365d", *args], catch_exceptions=False)

    yield run
    settings_module.get_settings.cache_clear()


def test_text_draws_bars_and_advisories(run_cli):
    result = run_cli()
    assert result.exit_code == 0, result.output
    out = result.output
    assert "account-setup — 60 runs" in out
    assert "escalated    ██████" in out and "30%  18/60  [20–43%]" in out
    assert "`tier` = gold when `inputs.seats` > 100, else standard: 58 of 60 runs" in out
    assert "[to_people] account-setup/sync_crm" in out and "[bottleneck] account-setup" in out
    assert "Review " in out and "longest: ops (person)" in out


def test_json_is_the_report(run_cli):
    result = run_cli("--format", "json", "--workflow", "account-setup")
    data = json.loads(result.output)
    assert data["window"] == "365d"
    assert sorted(a["kind"] for a in data["advisories"]) == ["bottleneck", "contradiction", "to_code", "to_people"]
    assert [s["id"] for s in data["workflows"][0]["steps"]] == ["tier", "sync_crm", "notes"]


def test_csv_has_one_row_per_figure(run_cli):
    rows = list(csv.DictReader(io.StringIO(run_cli("--format", "csv").output)))
    escalation = next(r for r in rows if r["step"] == "sync_crm" and r["figure"] == "escalation")
    assert (escalation["value"], escalation["count"], escalation["runs"]) == ("0.3", "18", "60")
    assert any(r["kind"] == "advisory" and r["figure"] == "to_code" for r in rows)
    assert any(r["figure"] == "rule.tier" and r["count"] == "58" for r in rows)


def test_min_runs_holds_back_rates(run_cli):
    out = run_cli("--min-runs", "100").output
    assert "not enough runs yet" in out and "95% CI" not in out


def test_bad_options_are_one_line(run_cli):
    result = run_cli("--since", "soon")
    assert result.exit_code == 2 and "--since: `soon` is not a duration" in result.output
    result = run_cli("--workflow", "nope")
    assert result.exit_code == 2 and "no workflow `nope`" in result.output
