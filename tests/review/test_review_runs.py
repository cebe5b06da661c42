"""Review of automations through the real service and database: a sampled run waits for the
reviewer; confirming goes on unchanged, correcting goes on with the person's values; an
unsampled run goes straight on; a bystander is refused; insights count a correction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.engine import events as ev
from bot.engine.messages import AskPerson, message_from_payload
from bot.engine.review import pending, sampled
from bot.insights.collect import collect_insights
from tests.harness import Harness
from tests.review.helpers import AUTOMATED, make_folder, run_ids


def start(h: Harness, run_id: str) -> str:
    result = h.service.start("reviewed", "ULEAD", {"title": "Backend outage"}, key=f"start:{run_id}",
                             channel="C0TEST", run_id=run_id)
    assert result.accepted, result
    h.run_automations()
    return run_id


def harness(url: str, folder) -> Harness:
    h = Harness(url, [str(folder)])
    h.automations["triage"] = lambda request: dict(AUTOMATED)
    return h


def audits(h: Harness, run_id: str, kind: str) -> list[dict]:
    from sqlalchemy import text

    with h.sessions() as session:
        rows = session.execute(text("select payload from audit_events where run_id = :r and type = :k order by id"),
                               {"r": run_id, "k": kind}).all()
    return [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]


def asked(h: Harness, run_id: str) -> list[AskPerson]:
    from sqlalchemy import text

    with h.sessions() as session:
        payloads = session.execute(text("select payload from outbox where run_id = :r order by id"),
                                   {"r": run_id}).scalars().all()
    loaded = [p if isinstance(p, dict) else json.loads(p) for p in payloads]
    return [m for p in loaded if p.get("kind") == "ask" and isinstance(m := message_from_payload(p), AskPerson)]


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path)


def test_a_sampled_run_waits_for_the_reviewer_with_the_automations_outputs(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-wait")
    state = h.state(run)
    assert state.steps["triage"].status.value == "waiting_on_person"
    assert state.steps["triage"].assignees == ["UOPS"]
    assert state.steps["file"].status.value == "pending"
    assert pending(state, "triage") == AUTOMATED
    [review] = [m for m in asked(h, run) if m.step_id == "triage"]
    assert review.to == ("UOPS",) and review.title == "Review: triage"
    assert "team: backend" in review.text and "estimate: 2" in review.text
    assert review.fields == ("team", "estimate")
    assert audits(h, run, "review_requested")[0]["outputs"] == AUTOMATED
    h.close()


def test_confirming_goes_on_with_the_automations_values(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-confirm")
    assert h.send(run, ev.Answer("triage", "UOPS", dict(AUTOMATED))).accepted
    state = h.state(run)
    assert state.steps["triage"].status.value == "completed"
    assert state.steps["triage"].outputs == AUTOMATED and state.steps["triage"].actor == "UOPS"
    assert state.steps["file"].status.value == "waiting_on_person"
    assert pending(state, "triage") is None and state.shadows == {}
    assert len(audits(h, run, "review_confirmed")) == 1 and audits(h, run, "review_corrected") == []
    [ask] = [m for m in asked(h, run) if m.step_id == "file"]
    assert ask.text == "File it with backend (2.0d)"
    h.close()


def test_correcting_goes_on_with_the_persons_values(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-correct")
    assert h.send(run, ev.Answer("triage", "UOPS", {"team": "payments", "estimate": 2})).accepted
    state = h.state(run)
    assert state.steps["triage"].outputs == {"team": "payments", "estimate": 2}
    [corrected] = audits(h, run, "review_corrected")
    assert corrected["fields"] == ["team"]
    assert corrected["automated"] == AUTOMATED and corrected["outputs"]["team"] == "payments"
    [ask] = [m for m in asked(h, run) if m.step_id == "file"]
    assert ask.text == "File it with payments (2.0d)"  # later steps see the corrected outputs
    h.close()


def test_a_correction_is_checked_against_the_steps_outputs(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-bad")
    result = h.send(run, ev.Answer("triage", "UOPS", {"team": "payments", "estimate": "lots"}))
    assert not result.accepted and "estimate" in (result.field_errors or {})
    assert h.state(run).steps["triage"].status.value == "waiting_on_person"
    h.close()


def test_a_bystander_is_refused_and_audited(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-bystander")
    result = h.send(run, ev.Answer("triage", "ULEAD", dict(AUTOMATED)))
    assert not result.accepted and result.code == "not_allowed"
    assert "review is not yours" in (result.reason or "")
    [refused] = audits(h, run, "refused")
    assert refused["code"] == "not_allowed"
    assert h.state(run).steps["triage"].status.value == "waiting_on_person"
    h.close()


def test_an_unsampled_run_goes_straight_on(migrated_db_url, tmp_path):
    h = harness(migrated_db_url, make_folder(tmp_path, "10%"))
    [outside] = run_ids(10, inside=False)
    run = start(h, outside)
    state = h.state(run)
    assert state.steps["triage"].status.value == "completed" and state.steps["triage"].actor is None
    assert state.steps["file"].status.value == "waiting_on_person"
    assert audits(h, run, "review_requested") == [] and state.shadows == {}
    [inside] = run_ids(10, inside=True)
    assert h.state(start(h, inside)).steps["triage"].status.value == "waiting_on_person"
    h.close()


def test_the_sample_is_deterministic_and_near_its_share():
    first = [sampled(f"run-{i}", "triage", 10) for i in range(2000)]
    assert first == [sampled(f"run-{i}", "triage", 10) for i in range(2000)]
    assert 150 < sum(first) < 250  # about 10% of 2000
    assert all(sampled(f"run-{i}", "triage", 100) for i in range(200))
    # The step id counts too: another step of the same run is sampled on its own.
    assert [sampled(f"run-{i}", "other", 10) for i in range(2000)] != first
    # A run in a small sample stays in every larger one.
    assert all(sampled(f"run-{i}", "triage", 50) for i in range(2000) if first[i])


def test_insights_count_reviews_and_corrections(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    for n, team in enumerate(("backend", "payments", "backend", "infra")):
        run = start(h, f"run-ins-{n}")
        assert h.send(run, ev.Answer("triage", "UOPS", {"team": team, "estimate": 2})).accepted
    report = collect_insights(h.engine, h.versions, now=h.now + timedelta(minutes=1), min_runs=1)
    [workflow] = [w for w in report.to_json()["workflows"] if w["id"] == "reviewed"]
    [triage] = [s for s in workflow["steps"] if s["id"] == "triage"]
    assert triage["reviewed"] == 4 and triage["corrected"] == 2
    assert triage["correction"]["count"] == 2 and triage["correction"]["runs"] == 4
    assert triage["correction"]["rate"] == 0.5
    assert 0 < triage["correction"]["low"] < 0.5 < triage["correction"]["high"] < 1
    from bot.insights.render import text

    assert "corrected" in text(report)
    h.close()


def test_a_review_can_be_reassigned_and_the_new_reviewer_answers(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-reassign")
    assert not h.send(run, ev.Reassign("triage", "U07NOBODY", "U09NEW")).accepted  # not theirs to hand on
    assert h.send(run, ev.Reassign("triage", "UOPS", "U09NEW")).accepted
    [again] = [m for m in asked(h, run) if m.step_id == "triage" and m.reassigned_by]
    assert again.to == ("U09NEW",) and "team: backend" in again.text and again.reassigned_by == "UOPS"
    assert not h.send(run, ev.Answer("triage", "UOPS", dict(AUTOMATED))).accepted
    assert h.send(run, ev.Answer("triage", "U09NEW", dict(AUTOMATED))).accepted
    assert h.state(run).steps["file"].status.value == "waiting_on_person"
    h.close()


def test_need_help_on_a_review_asks_in_the_thread(migrated_db_url, folder):
    h = harness(migrated_db_url, folder)
    run = start(h, "run-help")
    assert h.send(run, ev.AskForHelp("triage", "UOPS")).accepted
    assert len(audits(h, run, "help_requested")) == 1
    h.close()
