"""`GET /metrics` on the real app over HTTP: how long steps took and what phases waited on
(histograms read from the database), how often an automated step was escalated, and no
shadow series while there is no shadow data. Names and labels from a real scrape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from bot.store.models import AuditEvent, StepRun
from tests.fakeslack import FakeSlack
from tests.observability.served import app_with_metrics, scrape, value, wait_for
from tests.observability.test_metrics_endpoint import deliver_all
from tests.slack.live import slack_settings
from tests.slack.signed import event, slash_command

WORKFLOW = """
id: review
channel: "#work"
phases: [Write, Route, Fetch]
roles: {team: [U01ANN, U02BOB]}
conductor: team
permissions: {start: [team]}
steps:
  - {id: write, ask: starter, outputs: {text: text}, phase: Write}
  - id: route
    phase: Route
    routes:
      - {if: 'steps.write.outputs.text == "fetch"', goto: fetch}
    default: end
  - id: fetch
    phase: Fetch
    uses: automations.missing:fetch
    after: 1h
"""
STEP = "conductor_step_duration_seconds"
PHASE = "conductor_phase_wait_seconds"


@pytest.fixture
def served(migrated_db_url, tmp_path):
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW})
        with app_with_metrics(settings) as (url, base, runtime):
            yield url, base, runtime, settings


def scalar(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def first_row(runtime, sql: str):
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql)).first()


def finish_a_run(url, runtime, settings) -> str:
    """Started and answered over signed HTTP: the person's step, then the rule gate, complete."""
    assert slash_command(url, "start review", trigger="t-metrics")[0] == 200
    run_id = wait_for(lambda: scalar(runtime, "select id from runs"))
    wait_for(lambda: scalar(runtime, "select count(*) from outbox") > 0)
    deliver_all(runtime, settings)  # the header's ts becomes the run's thread
    channel, thread_ts = wait_for(lambda: first_row(runtime, "select channel, thread_ts from runs where thread_ts is not null"))
    reply = {"type": "event_callback", "event_id": "Ev-metrics", "team_id": "T0FAKETEAM", "api_app_id": "A0APP",
             "event": {"type": "message", "channel": channel, "user": "U01ANN", "text": "done",
                       "ts": "1700000001.0", "thread_ts": thread_ts}}
    assert event(url, reply)[0] == 200
    wait_for(lambda: scalar(runtime, f"select status from runs where id = '{run_id}'") == "completed")
    return run_id


def family_names(samples) -> set[str]:
    return {name for name, _ in samples}


def test_no_runs_no_series_but_every_family_is_described(served):
    _, base, _, _ = served
    import urllib.request

    body = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    for name in (STEP, PHASE, "conductor_step_escalation_ratio", "conductor_shadow_agreement_ratio"):
        assert f"# HELP {name} " in body, name
    samples = scrape(base)
    assert not any(name.startswith((STEP, PHASE)) for name in family_names(samples))
    assert not any(name == "conductor_shadow_agreement_ratio" for name in family_names(samples))


def test_steps_and_phases_are_timed_by_kind_and_what_they_waited_on(served):
    url, base, runtime, settings = served
    finish_a_run(url, runtime, settings)
    samples = scrape(base)

    write = {"workflow": "review", "step": "write", "kind": "task"}
    route = {"workflow": "review", "step": "route", "kind": "gate"}
    assert value(samples, f"{STEP}_count", **write) == 1
    assert value(samples, f"{STEP}_count", **route) == 1
    assert value(samples, f"{STEP}_bucket", **write, le="+Inf") == 1
    assert value(samples, f"{STEP}_bucket", **route, le="1.0") == 1  # a rule gate decides at once
    assert value(samples, f"{STEP}_sum", **write) >= 0
    assert value(samples, f"{PHASE}_count", workflow="review", phase="Write", waiting_on="person") == 1
    assert value(samples, f"{PHASE}_count", workflow="review", phase="Route", waiting_on="code") == 1
    # Only the labels the definitions give: no step that never ran, no stranger label values.
    labelled = [dict(labels) for name, labels in samples if name == f"{STEP}_count"]
    assert sorted(item["step"] for item in labelled) == ["route", "write"]
    phases = {(dict(labels)["phase"], dict(labels)["waiting_on"]) for name, labels in samples if name == f"{PHASE}_count"}
    assert phases == {("Write", "person"), ("Route", "code")}
    assert not any(name == "conductor_shadow_agreement_ratio" for name in family_names(samples))


def test_the_escalation_ratio_of_an_automated_step(served):
    url, base, runtime, settings = served
    run_id = finish_a_run(url, runtime, settings)
    now = datetime.now(UTC)
    with runtime.engine.begin() as conn:  # two attempts at `fetch` (waiting on time): one escalated, one done
        conn.execute(insert(StepRun.__table__), [
            {"run_id": run_id, "step_id": "fetch", "attempt": 1, "status": "escalated",
             "started_at": now - timedelta(hours=3), "finished_at": None, "updated_at": now},
            {"run_id": run_id, "step_id": "fetch", "attempt": 2, "status": "completed",
             "started_at": now - timedelta(hours=2), "finished_at": now - timedelta(minutes=50), "updated_at": now},
        ])
        conn.execute(insert(AuditEvent.__table__).values(run_id=run_id, step_id="fetch", actor=None,
                                                         type="escalated", payload={}, at=now))
    samples = scrape(base)
    assert value(samples, "conductor_step_escalation_ratio", workflow="review", step="fetch") == 0.5
    assert ("conductor_step_escalation_ratio", frozenset({("workflow", "review"), ("step", "write")})) not in samples
    fetch = {"workflow": "review", "step": "fetch", "kind": "automation"}
    assert value(samples, f"{STEP}_count", **fetch) == 1
    assert value(samples, f"{STEP}_bucket", **fetch, le="3600.0") == 0  # 70 minutes
    assert value(samples, f"{STEP}_bucket", **fetch, le="14400.0") == 1
    assert 4100 < value(samples, f"{STEP}_sum", **fetch) < 4300
    assert value(samples, f"{PHASE}_count", workflow="review", phase="Fetch", waiting_on="time") == 1


def test_shadow_agreement_from_the_comparisons(served):
    url, base, runtime, settings = served
    run_id = finish_a_run(url, runtime, settings)
    now = datetime.now(UTC)
    compared = [("write", True), ("write", False), ("write", True), ("write", None), ("route", True),
                ("gone", True)]  # `None`: the candidate was never sent; `gone`: no such step
    with runtime.engine.begin() as conn:
        conn.execute(insert(AuditEvent.__table__), [
            {"run_id": run_id, "step_id": step, "actor": None, "type": "shadow_compared", "at": now,
             "payload": {"attempt": 1, "status": "ok" if agreed is not None else "not_sent", "agreed": agreed}}
            for step, agreed in compared])
    samples = scrape(base)
    ratio = "conductor_shadow_agreement_ratio"
    assert abs(value(samples, ratio, workflow="review", step="write") - 2 / 3) < 1e-9
    assert value(samples, ratio, workflow="review", step="route") == 1.0
    assert sorted(dict(labels)["step"] for name, labels in samples if name == ratio) == ["route", "write"]
