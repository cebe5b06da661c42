"""The four example workflows, each driven to completion through the durable service on a
real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine import events as ev
from tests.harness import Harness, fails


@pytest.fixture
def h(migrated_db_url):
    harness = Harness(migrated_db_url)
    yield harness
    harness.close()


def statuses(h: Harness, run_id: str) -> dict[str, str]:
    return {step_id: st.status.value for step_id, st in h.state(run_id).steps.items()}


def test_blog_article_with_a_rejection_a_retry_and_a_take_over(h):
    run = h.start("blog-article", "U01EDITOR", title="Conducting work", writer="U02WRITER").run_id
    assert h.send(run, ev.Answer("brief", "U01EDITOR", {"angle": "People judge; code repeats.", "keywords": ["workflow"]})).accepted
    assert h.send(run, ev.Answer("draft", "U02WRITER", {"doc_url": "https://docs.example.com/1", "word_count": 1500})).accepted
    assert h.send(run, ev.Answer("edit", "U01EDITOR", {})).accepted
    assert h.send(run, ev.Reject("approve", "U01EDITOR", "needs a stronger ending")).accepted
    assert statuses(h, run)["draft"] == "waiting_on_person"
    assert h.send(run, ev.Answer("draft", "U02WRITER", {"doc_url": "https://docs.example.com/2", "word_count": 1400})).accepted
    assert h.send(run, ev.Answer("edit", "U01EDITOR", {"notes": "good"})).accepted
    tries = []
    h.automations["seo"] = lambda r: tries.append(r.try_number) or (fails("CMS busy") if r.try_number == 1 else
                                                                    {"slug": "conducting-work", "meta_description": "m", "keywords": ["workflow"]})
    h.automations["format_check"] = lambda r: {"reading_minutes": 6, "headline": "Conducting work"}
    h.automations["publish"] = lambda r: fails("401 from the CMS", retryable=False)
    assert h.send(run, ev.Approve("approve", "U01EDITOR")).accepted
    h.wait(timedelta(days=2))
    assert tries == [1, 2]
    state = h.state(run)
    assert state.steps["publish"].status.value == "escalated"
    assert h.count("select count(*) from outbox where cast(payload as text) like '%\"escalation\"%'") == 1
    assert not h.send(run, ev.TakeOver("publish", "U02WRITER", {"article_url": "https://blog.example.com/a"})).accepted
    assert h.send(run, ev.TakeOver("publish", "U03WEBOPS", {"article_url": "https://blog.example.com/a"})).accepted
    state = h.state(run)
    assert state.status.value == "completed"
    assert state.steps["draft"].attempt == 2 and state.steps["approve"].attempt == 2
    assert h.count("select count(*) from step_runs where run_id = :r and step_id = 'draft'", r=run) == 2
    assert h.count("select count(*) from timers where run_id = :r and fired_at is null and cancelled_at is null", r=run) == 0


def test_client_onboarding_small_client_is_automated(h):
    h.automations["provision"] = lambda r: {"account_id": "acct_0123456789ab", "seats": 5, "plan": "starter"}
    run = h.start("client-onboarding", "U06SALES", company="Tiny", plan="starter", seats=5, contact="a@tiny.io").run_id
    h.run_automations()
    state = h.state(run)
    assert state.status.value == "completed"
    assert state.steps["qualify"].route == "provision"
    assert state.steps["assign_manager"].status.value == "pending"  # the enterprise track never ran
    assert h.count("select count(*) from outbox where cast(payload as text) like '%Tiny is live on starter%'") == 1


def test_client_onboarding_enterprise_client_goes_to_a_person(h):
    run = h.start("client-onboarding", "U06SALES", company="Big", plan="enterprise", seats=900, contact="it@big.com").run_id
    assert h.state(run).steps["assign_manager"].status.value == "waiting_on_person"
    assert h.send(run, ev.Answer("assign_manager", "U04LEAD", {"manager": "U05MANAGER"})).accepted
    assert not h.send(run, ev.Answer("kickoff", "U04LEAD", {})).accepted  # not the manager
    assert h.send(run, ev.Answer("kickoff", "U05MANAGER", {"requirements": "SSO", "integrations": ["sso"], "kickoff_date": "2026-03-04"})).accepted
    assert h.send(run, ev.Answer("security_review", "U05SECURITY", {"approved": True})).accepted
    assert h.send(run, ev.Decide("setup_path", "U05MANAGER", "Custom set-up by hand")).accepted
    assert h.send(run, ev.Answer("custom_setup", "U05MANAGER", {"account_id": "acct-big-1"})).accepted
    assert h.send(run, ev.Approve("go_live", "U04LEAD")).accepted
    state = h.state(run)
    assert state.status.value == "completed"
    assert state.steps["enterprise_provision"].status.value == "pending"


def test_campaign_launch_parallel_work_and_conditional_legal(h):
    h.automations["schedule"] = lambda r: {"schedule": "email 2026-03-09T08:00", "posts": 1}
    run = h.start("campaign-launch", "U07MKTLEAD", campaign="Spring", budget=1000).run_id
    assert h.send(run, ev.Answer("brief", "U07MKTLEAD", {"goal": "Sign-ups", "channels": ["email"], "launch_date": "2026-03-09"})).accepted
    assert statuses(h, run)["copy"] == statuses(h, run)["design"] == "waiting_on_person"
    assert h.send(run, ev.Answer("copy", "U11COPY", {"copy_doc": "https://docs.example.com/c"})).accepted
    assert statuses(h, run)["brand_review"] == "pending"  # still waiting for design
    assert h.send(run, ev.Answer("design", "U12DESIGN", {"assets_folder": "https://drive.example.com/a"})).accepted
    assert h.send(run, ev.Approve("brand_review", "U08BRAND")).accepted
    assert statuses(h, run)["legal_review"] == "skipped"  # no paid ads
    assert h.send(run, ev.Approve("sign_off", "U07MKTLEAD")).accepted
    h.run_automations()
    assert h.state(run).status.value == "completed"
    assert h.count("select count(*) from outbox where channel = '#social'") == 1


def test_daily_standup_collects_answers_and_closes(h):
    run = h.start("daily-standup", "U10LEAD").run_id  # Monday 08:00 UTC; the window opens at 09:00
    assert h.count("select count(*) from outbox where kind = 'dm' and run_id = :r", r=run) == 0
    h.wait(timedelta(hours=1))
    assert h.count("select count(*) from outbox where kind = 'dm' and cast(payload as text) like '%standup_prompt%'") == 2
    assert h.send(run, ev.StandupAnswer("standup", "U20ANA", {"yesterday": "API", "today": "Tests", "blockers": "Waiting on review"})).accepted
    assert not h.send(run, ev.StandupAnswer("standup", "U99OTHER", {"yesterday": "x", "today": "y"})).accepted
    h.wait(timedelta(hours=4))  # the window closes at 11:30; Ben never answered
    state = h.state(run)
    assert state.status.value == "completed"
    assert "Waiting on review" in state.steps["standup"].outputs["blockers"]
    # The blocker became work with an owner: a run of its own, asking the team's conductor.
    blocker_run = h.count("select count(*) from runs where workflow_id = 'blocker-handoff'")
    assert blocker_run == 1
    from sqlalchemy import text as sql

    with h.sessions() as session:
        handoff = session.execute(sql("select id from runs where workflow_id = 'blocker-handoff'")).scalar_one()
    unblock = h.state(handoff).steps["unblock"]
    assert unblock.status.value == "waiting_on_person" and unblock.assignees == ["U10LEAD"]
    assert h.send(handoff, ev.Answer("unblock", "U10LEAD", {"resolution": "Reviewed it"})).accepted
    assert h.count("select count(*) from outbox where cast(payload as text) like '%standup_summary%' and cast(payload as text) like '%U21BEN%'") == 1
