"""`collect_insights` over a history with known properties finds exactly what was planted."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from bot.definitions.loader import load_bytes
from bot.insights import collect_insights
from bot.insights.report import NOT_ENOUGH
from tests.insights.history import WORKFLOWS

YEAR = timedelta(days=365)


def report_of(history, **kwargs):
    harness, _, _ = history
    return collect_insights(harness.engine, harness.versions, now=harness.now, since=YEAR, **kwargs)


def steps_of(report, workflow="account-setup"):
    return {step["id"]: step for step in report.workflow(workflow).to_json()["steps"]}


def test_exactly_the_planted_advisories(history):
    _, planted, _ = history
    report = report_of(history)
    kinds = sorted((a.kind, a.step) for a in report.advisories)
    assert kinds == [("bottleneck", "notes"), ("contradiction", "tier"), ("to_code", "tier"), ("to_people", "sync_crm")]
    by_kind = {a.kind: a for a in report.advisories}

    to_people = by_kind["to_people"].evidence
    assert (to_people.count, to_people.runs) == (18, 60)
    assert to_people.rate == 0.3 and 0.1 < to_people.low < 0.3 < to_people.high
    assert set(to_people.run_ids) <= set(planted.escalated) and len(to_people.run_ids) == 10

    to_code = by_kind["to_code"]
    assert (to_code.evidence.count, to_code.evidence.runs) == (58, 60)
    assert "`tier` = gold when `inputs.seats` > 100, else standard: 58 of 60 runs" in to_code.summary
    assert not set(to_code.evidence.run_ids) & set(planted.exceptions)
    assert 'tier: \'{{ "gold" if inputs.seats > 100 else "standard" }}\'' in to_code.suggestion
    assert "repetitive: no" in by_kind["contradiction"].summary

    bottleneck = by_kind["bottleneck"]
    assert "`Review`" in bottleneck.summary and "`ops`" in bottleneck.summary and "at `notes`" in bottleneck.summary
    assert bottleneck.evidence.runs == 60


def test_automation_figures(history):
    _, planted, _ = history
    crm = steps_of(report_of(history))["sync_crm"]
    assert crm["kind"] == "automation" and crm["runs"] == 60
    assert crm["escalation"]["count"] == len(planted.escalated) == 18
    assert crm["take_over"]["count"] == len(planted.taken_over) == 15
    assert crm["skip"]["count"] == len(planted.skipped) == 3
    # 36 runs at the first try; 6 after one retry; 18 failing both tries.
    assert crm["first_try_success"]["count"] == 60 - 18 - len(planted.retried)
    assert crm["tries"] == 60 - 18 + len(planted.retried) + 2 * 18
    assert crm["mean_retries"] == round((crm["tries"] - 60) / 60, 3)
    causes = {c["cause"]: c["count"] for c in crm["failure_causes"]}
    assert causes == {"CRM answered N for account N": 36, "CRM timed out after N s": 6}
    d = crm["duration_seconds"]
    assert d["count"] == 57 and 0 < d["median"] <= d["p90"] <= d["max"]


def test_person_figures(history):
    _, planted, _ = history
    steps = steps_of(report_of(history))
    notes, tier = steps["notes"], steps["tier"]
    assert notes["asked"] == 60 and notes["role"] == "ops"
    assert notes["reassign"]["count"] == len(planted.reassigned) == 6
    assert notes["need_help"]["count"] == len(planted.helped) == 7
    assert notes["rejection_loop"]["count"] == 0
    assert 8 * 3600 <= notes["handling_seconds"]["median"] <= 31 * 3600
    assert [r["rule"] for r in notes["regularity"]] == [None]
    [rule] = tier["regularity"]
    assert (rule["field"], rule["kind"], rule["matched"], rule["runs"]) == ("tier", "split", 58, 60)
    assert sorted(rule["exceptions"]) == sorted(planted.exceptions)
    assert 3600 <= tier["handling_seconds"]["median"] <= 4 * 3600


def test_phases_split_the_waits(history):
    phases = {p["phase"]: p for p in report_of(history).workflow("account-setup").phases}
    assert list(phases) == ["Qualify", "Provision", "Review"]
    assert phases["Review"]["bottleneck"] == {"wait": "person", "role": "ops"}
    assert phases["Qualify"]["bottleneck"] == {"wait": "person", "role": "sales"}
    provision = phases["Provision"]["waiting_seconds"]
    assert provision["code"] > 0 and provision["time"] > 0 and provision["person"] > provision["code"]


def test_ten_runs_are_not_enough(small_history):
    report = report_of(small_history)
    assert report.advisories, "the same behaviour is still pointed at"
    for advisory in report.advisories:
        assert NOT_ENOUGH in advisory.summary
        assert advisory.evidence.rate is None and advisory.evidence.low is None
    assert all(not step["enough_runs"] for step in steps_of(report).values())


def test_the_window_and_the_workflow_filter(history):
    harness, _, _ = history
    empty = collect_insights(harness.engine, harness.versions, now=harness.now - YEAR, since=timedelta(days=1))
    assert empty.workflows == [] and empty.advisories == []
    only = report_of(history, workflow_id="account-setup", min_runs=100)
    assert [w.id for w in only.workflows] == ["account-setup"]
    assert all(a.evidence.rate is None for a in only.advisories)


def test_json_shape_is_stable(history):
    data = report_of(history).to_json()
    assert set(data) >= {"generated_at", "since", "workflows", "advisories"}
    [workflow] = data["workflows"]
    assert set(workflow) >= {"id", "steps", "phases"}
    assert all({"id", "kind"} <= set(step) for step in workflow["steps"])
    for advisory in data["advisories"]:
        assert set(advisory) == {"workflow", "step", "kind", "summary", "evidence", "suggestion"}
        assert set(advisory["evidence"]) == {"runs", "count", "rate", "low", "high", "run_ids"}
        assert len(advisory["evidence"]["run_ids"]) <= 10


def _with_step(suggestion: str) -> str:
    """account-setup.yaml with the suggested step in place of the step of the same id."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    source = yaml.load((Path(WORKFLOWS) / "account-setup.yaml").read_text())
    [step] = yaml.load(suggestion)
    source["steps"] = [step if s["id"] == step["id"] else s for s in source["steps"]]
    out = io.StringIO()
    yaml.dump(source, out)
    return out.getvalue()


def test_suggestions_are_workflow_yaml(history):
    for advisory in report_of(history).advisories:
        if advisory.kind in ("to_code", "to_people"):
            loaded, problems = load_bytes("account-setup.yaml", _with_step(advisory.suggestion).encode())
            assert loaded is not None, (advisory.kind, [p.format() for p in problems])
            assert [p.code for p in problems] == [], advisory.kind


def test_a_report_takes_no_write_lock(history):
    """While the bot holds SQLite's write lock, a report still reads (and holds nobody up)."""
    harness, _, url = history
    if not url.startswith("sqlite"):
        return
    with harness.engine.begin() as writer:
        writer.exec_driver_sql("UPDATE runs SET status = status WHERE 0")
        assert len(report_of(history).advisories) == 4
