"""Transitions of the pure engine for automations: tries, outputs, backoff, timeouts,
escalation and what people do about it, recovery after a restart, scheduled starts and the
built-ins. Tables of (event, expected outcome) on small workflows made for each concern."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.definitions.templates import authored_secret
from bot.engine import events as ev
from tests.engine.table import (
    ALICE,
    BOB,
    CAROL,
    DAN,
    NOW,
    Fire,
    Run,
    audits,
    automations,
    message,
    messages,
    ok,
    refused,
    timers_cleared,
    timers_set,
)

W = "waiting_on_person"

AUTO = """
id: auto
escalation_channel: "#ops"
roles: {ops: [UBOB], admins: [UCAROL]}
permissions: {take_over: [admins], retry: [admins], skip: [admins]}
inputs:
  title: string
  tags: {type: list, items: string}
steps:
  - id: seo
    uses: automations.blog:add_seo
    with:
      title: "Title: {{ inputs.title }}"
      tags: "{{ inputs.tags }}"
      count: "{{ inputs.tags | length }}"
      token: "${{ secrets.API_TOKEN }}"
      header: "Bearer ${{ secrets.API_TOKEN }}"
    outputs: {slug: {type: string, pattern: "^[a-z0-9-]+$"}}
    retry: {attempts: 3, backoff: 30s, max: 45s}
    timeout: 1m
    %s
  - {id: done, ask: starter}
"""
INPUTS = {"title": "Hello", "tags": ["a", "b"]}


def auto(extra: str = "escalate_to: ops") -> Run:
    return Run(AUTO % extra, inputs=INPUTS)


def with_retry(retry: str) -> Run:
    return Run((AUTO % "escalate_to: ops").replace("{attempts: 3, backoff: 30s, max: 45s}", retry), inputs=INPUTS)


def test_start_runs_the_automation_with_rendered_params():
    run = auto()
    [job] = automations(run.effects)
    assert (job.step_id, job.attempt, job.try_number, job.idempotency_key) == ("seo", 1, 1, "run1:seo:1")
    assert job.params["with"] == {
        "title": "Title: Hello",
        "tags": ["a", "b"],  # one `{{ expression }}` keeps its type
        "count": 2,
        "token": authored_secret("API_TOKEN"),  # secrets stay references, marked as the author's
        "header": f"Bearer {authored_secret('API_TOKEN')}",
    }
    assert [(t.kind, t.due_at) for t in timers_set(run.effects)] == [("timeout", NOW + timedelta(minutes=1))]
    assert run.state.steps["seo"].status.value == "running" and run.state.status.value == "running"


def test_success_with_valid_outputs_completes_and_clears_the_timeout():
    run = auto()
    timeout = run.timer("timeout", "seo").key
    run.play([(ev.AutomationSucceeded("seo", 1, 1, {"slug": "hello"}), ok(seo="completed", done=W, run="waiting"))])
    assert timeout in timers_cleared(run.effects) and timeout not in run.state.timers
    assert run.state.steps["seo"].outputs == {"slug": "hello"}
    run.play([(ev.AutomationSucceeded("seo", 1, 1, {"slug": "hello"}), refused("not_waiting"))])


def test_invalid_outputs_escalate_without_retrying():
    run = auto()
    run.play([(ev.AutomationSucceeded("seo", 1, 1, {"slug": "Not OK"}), ok(seo="escalated", done="pending", says="escalated"))])
    assert not timers_set(run.effects, "retry") and not automations(run.effects)
    escalation = message(run.effects, "escalation")
    assert escalation.destination == "escalation" and escalation.to == (BOB,)
    assert "slug" in escalation.error and escalation.fields == ("slug",) and escalation.tries == 1


def _delays(run: Run) -> list[timedelta]:
    """Fail every try; return the wait before each next one."""
    delays = []
    while run.state.steps["seo"].status.value == "running":
        st = run.state.steps["seo"]
        run.play([(ev.AutomationFailed("seo", st.attempt, st.tries, "503"), ok())])
        if run.state.steps["seo"].status.value != "retry_wait":
            break
        delays.append(run.timer("retry", "seo").due_at - run.now)
        run.play([(Fire("retry", "seo"), ok(seo="running"))])
        assert automations(run.effects)[0].idempotency_key == "run1:seo:1"
    return delays


@pytest.mark.parametrize(("retry", "bases"), [
    ("{attempts: 3, backoff: 30s, max: 45s}", [30, 45]),
    ("{attempts: 6, backoff: 10s, max: 1m}", [10, 20, 40, 60, 60]),
    ("{attempts: 4, backoff: 1m, max: 1h, jitter: false}", [60, 120, 240]),
    ("{attempts: 1}", []),
])
def test_retries_back_off_exponentially_with_jitter_and_a_cap(retry, bases):
    run = with_retry(retry)
    delays = _delays(run)
    assert len(delays) == len(bases)
    jitter = "jitter: false" not in retry
    for delay, base in zip(delays, bases, strict=True):
        base = timedelta(seconds=base)
        assert (base / 2 <= delay <= base) if jitter else delay == base
    assert run.state.steps["seo"].status.value == "escalated"
    assert run.state.steps["seo"].tries == len(bases) + 1


def test_many_retries_stay_capped_at_max():
    retry = "{attempts: 40, backoff: 1d, max: 1d}"
    run = with_retry(retry)
    delays = _delays(run)
    assert len(delays) == 39 and all(timedelta(hours=12) <= d <= timedelta(days=1) for d in delays)


@pytest.mark.parametrize(("on_failure", "seo", "after", "status"), [
    ("on_failure: escalate", "escalated", "pending", "waiting"),
    ("on_failure: skip", "skipped", W, "waiting"),
    ("on_failure: fail", "failed", "pending", "failed"),
])
def test_exhausted_tries_escalate_skip_or_fail(on_failure, seo, after, status):
    run = auto(on_failure)
    run.play([
        (ev.AutomationFailed("seo", 1, 1, "503"), ok(seo="retry_wait")),
        (Fire("retry", "seo"), ok(seo="running")),
        (ev.AutomationFailed("seo", 1, 2, "503"), ok(seo="retry_wait")),
        (Fire("retry", "seo"), ok(seo="running")),
        (ev.AutomationFailed("seo", 1, 3, "still 503", output_tail="trace"), ok(seo=seo, done=after, run=status)),
    ])
    assert not [t for t in run.state.timers.values() if t.step_id == "seo"]
    if seo == "escalated":
        escalation = message(run.effects, "escalation")
        assert escalation.to == (CAROL,)  # no escalate_to: whoever may take over
        assert escalation.error == "still 503" and escalation.output_tail == "trace"
        assert escalation.tries == 3
    if seo == "failed":
        assert "still 503" in run.state.reason


def test_a_non_retryable_failure_escalates_at_once():
    run = auto()
    run.play([(ev.AutomationFailed("seo", 1, 1, "bad request", retryable=False), ok(seo="escalated"))])
    assert not timers_set(run.effects, "retry")


def test_a_timeout_counts_as_a_retryable_failure_and_late_results_are_stale():
    run = auto()
    run.play([
        (Fire("timeout", "seo"), ok(seo="retry_wait")),
        (Fire("retry", "seo"), ok(seo="running")),
        (ev.AutomationSucceeded("seo", 1, 1, {"slug": "late"}), refused("stale", seo="running")),
        (ev.AutomationFailed("seo", 1, 1, "late"), refused("stale", seo="running")),
        (ev.AutomationSucceeded("seo", 2, 2, {"slug": "x"}), refused("stale", seo="running")),
        (ev.AutomationSucceeded("seo", 1, 2, {"slug": "on-time"}), ok(seo="completed", done=W)),
    ])
    assert run.state.steps["seo"].outputs == {"slug": "on-time"}


def test_a_timeout_of_the_last_try_escalates():
    run = with_retry("{attempts: 1}")
    run.play([(Fire("timeout", "seo"), ok(seo="escalated", says="escalation"))])
    assert "timed out" in run.state.steps["seo"].error


def _escalated(extra: str = "escalate_to: ops") -> Run:
    run = auto(extra)
    run.play([(ev.AutomationFailed("seo", 1, 1, "boom", retryable=False), ok(seo="escalated"))])
    return run


@pytest.mark.parametrize(("actor", "allowed"), [(BOB, True), (CAROL, True), (DAN, False), (ALICE, False)],
                         ids=["escalate_to", "take_over-role", "stranger", "starter"])
def test_take_over_is_permitted_and_validated(actor, allowed):
    run = _escalated()
    if not allowed:
        run.play([(ev.TakeOver("seo", actor, {"slug": "by-hand"}), refused("not_allowed", seo="escalated"))])
        return
    run.play([
        (ev.TakeOver("seo", actor, {"slug": "By Hand"}), refused("invalid_outputs", "slug", seo="escalated")),
        (ev.TakeOver("seo", actor, {"slug": "by-hand"}), ok(seo="completed", done=W)),
    ])
    assert run.state.steps["seo"].outputs == {"slug": "by-hand"} and run.state.steps["seo"].actor == actor
    assert audits(run.effects, "taken_over")


def test_retry_now_and_skip_need_their_permissions():
    run = _escalated()
    run.play([
        (ev.RetryNow("seo", DAN), refused("not_allowed", seo="escalated")),
        (ev.Skip("seo", DAN), refused("not_allowed", seo="escalated")),
        (ev.RetryNow("seo", CAROL), ok(seo="running", run="running")),
    ])
    [job] = automations(run.effects)
    assert (job.try_number, job.idempotency_key) == (2, "run1:seo:1")
    run.play([
        (ev.RetryNow("seo", CAROL), refused("not_waiting", seo="running")),
        (ev.AutomationFailed("seo", 1, 2, "boom again", retryable=False), ok(seo="escalated")),
        (ev.Skip("seo", CAROL, "not needed"), ok(seo="skipped", done=W)),
    ])
    assert run.state.steps["seo"].reason == "not needed"


def test_retry_now_during_retry_wait_starts_the_next_try_at_once():
    run = auto()
    run.play([(ev.AutomationFailed("seo", 1, 1, "503"), ok(seo="retry_wait"))])
    retry_key = run.timer("retry", "seo").key
    run.play([(ev.RetryNow("seo", CAROL), ok(seo="running"))])
    assert retry_key in timers_cleared(run.effects) and automations(run.effects)[0].try_number == 2


@pytest.mark.parametrize("idempotent", [True, False])
def test_recover_reruns_idempotent_steps_and_escalates_the_others(idempotent):
    run = auto(f"idempotent: {str(idempotent).lower()}\n    escalate_to: ops")
    old_timeout = run.timer("timeout", "seo").key
    run.tick(timedelta(seconds=20))
    run.play([(ev.Recover("seo"), ok(seo="running" if idempotent else "escalated"))])
    assert old_timeout in timers_cleared(run.effects)
    if idempotent:
        [job] = automations(run.effects)
        assert (job.try_number, job.idempotency_key) == (2, "run1:seo:1")
        assert run.timer("timeout", "seo").due_at == run.now + timedelta(minutes=1)
        run.play([(ev.AutomationSucceeded("seo", 1, 2, {"slug": "ok"}), ok(seo="completed"))])
    else:
        assert not automations(run.effects)
        assert message(run.effects, "escalation").to == (BOB,)
    run.play([(ev.Recover("seo"), refused("not_waiting"))])


def test_a_loop_back_gives_the_automation_a_new_idempotency_key():
    run = Run("""
id: loop
roles: {editor: [UBOB]}
steps:
  - {id: build, uses: "m:build"}
  - {id: check, approvers: [editor], on_reject: build}
""")
    run.play([
        (ev.AutomationSucceeded("build", 1, 1), ok(build="completed", check=W)),
        (ev.Reject("check", BOB, "again"), ok(build="running", check="pending")),
    ])
    [job] = automations(run.effects)
    assert (job.attempt, job.try_number, job.idempotency_key) == (2, 1, "run1:build:2")
    run.play([(ev.AutomationSucceeded("build", 1, 1), refused("stale"))])


# --- scheduled starts ---------------------------------------------------------------------------
SCHEDULED = """
id: scheduled
timezone: Europe/Berlin
inputs: {when: {type: string, required: false}}
steps:
  - {id: job, uses: "m:job", %s}
"""


@pytest.mark.parametrize(("now", "due"), [
    (datetime(2024, 6, 3, 6, 0, tzinfo=UTC), datetime(2024, 6, 3, 7, 0, tzinfo=UTC)),  # 08:00 CEST: today
    (datetime(2024, 6, 3, 7, 0, tzinfo=UTC), datetime(2024, 6, 3, 7, 0, tzinfo=UTC)),  # 09:00 CEST: now
    (datetime(2024, 6, 3, 9, 0, tzinfo=UTC), datetime(2024, 6, 4, 7, 0, tzinfo=UTC)),  # 11:00 CEST: tomorrow
    (datetime(2024, 3, 30, 10, 0, tzinfo=UTC), datetime(2024, 3, 31, 7, 0, tzinfo=UTC)),  # into summer time
    (datetime(2024, 10, 26, 10, 0, tzinfo=UTC), datetime(2024, 10, 27, 8, 0, tzinfo=UTC)),  # into winter time
], ids=["later-today", "exactly-now", "tomorrow", "dst-spring", "dst-autumn"])
def test_at_time_of_day_is_the_next_such_moment_in_the_workflow_zone(now, due):
    run = Run(SCHEDULED % 'at: "09:00"', now=now)
    assert run.state.steps["job"].status.value == "scheduled" and not automations(run.effects)
    assert run.timer("scheduled_start", "job").due_at == due
    run.play([(Fire("scheduled_start", "job"), ok(job="running", run="running"))])
    assert run.now == due and automations(run.effects)[0].try_number == 1


def test_at_time_of_day_in_the_repeated_hour_is_not_in_the_past():
    now = datetime(2024, 10, 27, 1, 15, tzinfo=UTC)  # 02:15 CET, the second time the clock shows it
    run = Run(SCHEDULED % 'at: "02:30"', now=now)
    assert run.timer("scheduled_start", "job").due_at == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(("spec", "inputs", "due"), [
    ("after: 90m", {}, NOW + timedelta(minutes=90)),
    ('at: "{{ inputs.when }}"', {"when": "2024-06-05T10:00:00+00:00"}, datetime(2024, 6, 5, 10, 0, tzinfo=UTC)),
    ('at: "{{ inputs.when }}"', {"when": "2024-06-05T10:00:00"}, datetime(2024, 6, 5, 8, 0, tzinfo=UTC)),
])
def test_after_and_templated_at_schedule_the_start(spec, inputs, due):
    run = Run(SCHEDULED % spec, inputs=inputs)
    assert run.timer("scheduled_start", "job").due_at == due
    run.play([(Fire("scheduled_start", "job"), ok(job="running"))])


# --- built-ins ----------------------------------------------------------------------------------
def test_conductor_post_sends_a_message_and_completes_at_once():
    run = Run("""
id: post
inputs: {campaign: string}
steps:
  - id: tell
    uses: conductor/post
    with: {channel: "#social", text: "*{{ inputs.campaign }}* is approved"}
  - {id: then, ask: starter}
""", inputs={"campaign": "Spring"})
    post = message(run.effects, "post")
    assert (post.destination, post.channel, post.text) == ("channel", "#social", "*Spring* is approved")
    assert run.state.steps["tell"].status.value == "completed" and run.state.steps["then"].status.value == W
    assert not automations(run.effects) and not run.state.timers


def test_conductor_wait_is_a_timer():
    run = Run("""
id: wait
steps:
  - {id: pause, uses: conductor/wait, with: {for: 2h}}
  - {id: then, ask: starter}
""")
    assert run.state.steps["pause"].status.value == "scheduled" and not automations(run.effects)
    assert run.timer("wait", "pause").due_at == NOW + timedelta(hours=2)
    run.play([(Fire("wait", "pause"), ok(pause="completed", then=W))])
    assert run.now == NOW + timedelta(hours=2) and not messages(run.effects, "escalation")
