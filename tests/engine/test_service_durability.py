"""Exactly once, and on the version a run began with: the service under redelivery,
concurrency and workflow edits, on a real database."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.engine import events as ev
from tests.harness import Harness

V1 = """
id: review
roles:
  reviewers: [U01ANN, U02BOB]
steps:
  - id: write
    ask: starter
    remind: [1h]
    outputs: {text: text}
  - id: review
    ask: reviewers
    prompt: "Review: {{ steps.write.outputs.text }}"
    outputs: {verdict: {type: enum, options: [good, bad]}}
"""

V2 = V1.replace("  - id: review\n", "  - id: legal\n    ask: reviewers\n  - id: review\n")


@pytest.fixture
def h(migrated_db_url, tmp_path: Path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "review.yaml").write_text(V1)
    harness = Harness(migrated_db_url, [str(folder)])
    harness.folder = folder
    yield harness
    harness.close()


def counts(h: Harness, run_id: str) -> tuple[int, int, int]:
    return (
        h.count("select count(*) from outbox where run_id = :r", r=run_id),
        h.count("select count(*) from audit_events where run_id = :r", r=run_id),
        h.count("select count(*) from step_runs where run_id = :r", r=run_id),
    )


def test_a_redelivered_event_changes_nothing(h):
    run = h.start("review", "U09STARTER").run_id
    event = ev.Answer("write", "U09STARTER", {"text": "draft"})
    first = h.service.handle(run, event, key="slack:action:1")
    before = counts(h, run)
    again = h.service.handle(run, event, key="slack:action:1")
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert counts(h, run) == before


def test_the_same_event_from_two_threads_at_once_has_one_effect(h):
    run = h.start("review", "U09STARTER").run_id
    event = ev.Answer("write", "U09STARTER", {"text": "draft"})
    results: list[str] = []
    barrier = threading.Barrier(4)

    def apply() -> None:
        barrier.wait()
        results.append(h.service.handle(run, event, key="slack:action:double-click").status)

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["accepted", "duplicate", "duplicate", "duplicate"]
    state = h.state(run)
    assert state.steps["write"].status.value == "completed" and state.steps["review"].attempt == 1
    assert h.count("select count(*) from outbox where run_id = :r and cast(payload as text) like '%Review: draft%'", r=run) == 1


def test_two_different_clicks_on_one_step_complete_it_once(h):
    run = h.start("review", "U09STARTER").run_id
    h.send(run, ev.Answer("write", "U09STARTER", {"text": "draft"}))
    results: list[str] = []
    barrier = threading.Barrier(2)

    def apply(user: str, key: str) -> None:
        barrier.wait()
        results.append(h.service.handle(run, ev.Answer("review", user, {"verdict": "good"}), key=key).code or "accepted")

    threads = [threading.Thread(target=apply, args=(u, f"k-{u}")) for u in ("U01ANN", "U02BOB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["accepted", "run_finished"]  # the second click found the run done
    assert h.state(run).status.value == "completed"
    assert h.count("select count(*) from audit_events where run_id = :r and type = 'refused'", r=run) == 1


def test_a_timer_fired_by_two_clocks_at_once_fires_once(h):
    run = h.start("review", "U09STARTER").run_id
    later = h.now + timedelta(hours=2)
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def clock() -> None:
        barrier.wait()
        results.append([r.status for r in h.fire_due(later)])

    threads = [threading.Thread(target=clock) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for r in results for s in r).count("accepted") == 1
    assert h.count("select count(*) from outbox where run_id = :r and cast(payload as text) like '%reminder%'", r=run) == 1


def test_refusals_are_explained_and_audited(h):
    run = h.start("review", "U09STARTER").run_id
    refused = h.send(run, ev.Answer("write", "U01ANN", {"text": "not mine"}))
    assert (refused.status, refused.code) == ("refused", "not_allowed")
    invalid = h.send(run, ev.Answer("write", "U09STARTER", {"text": ""}))
    assert invalid.code == "invalid_outputs" and "text" in invalid.field_errors
    assert h.count("select count(*) from audit_events where run_id = :r and type = 'refused'", r=run) == 2
    assert h.state(run).steps["write"].status.value == "waiting_on_person"


def test_a_run_finishes_on_the_version_it_started_with(h):
    old = h.start("review", "U09STARTER").run_id
    (h.folder / "review.yaml").write_text(V2)
    h.load([str(h.folder)])
    new = h.start("review", "U09STARTER").run_id
    for run in (old, new):
        h.send(run, ev.Answer("write", "U09STARTER", {"text": "t"}))
    assert "legal" not in h.state(old).steps
    assert h.state(new).steps["legal"].status.value == "waiting_on_person"
    assert h.send(old, ev.Answer("review", "U01ANN", {"verdict": "good"})).accepted
    assert h.state(old).status.value == "completed"
    assert h.count("select count(*) from workflow_versions where workflow_id = 'review'") == 2
    assert h.count("select count(distinct workflow_version_id) from runs") == 2


def test_stale_timers_are_retired_not_fired_again(h):
    run = h.start("review", "U09STARTER").run_id
    h.send(run, ev.Cancel("U09STARTER"))
    h.wait(timedelta(days=30))
    assert h.count("select count(*) from timers where fired_at is null and cancelled_at is null") == 0
