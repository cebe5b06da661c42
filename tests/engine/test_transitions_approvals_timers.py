"""Transitions of the pure engine for reminders and deadlines, approvals and their loops,
cancelling and aborting, and what holds for every event: the state given is never changed and
round-trips through JSON. Tables of (event, expected outcome) on small workflows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine import events as ev
from bot.engine.machine import advance
from bot.engine.state import RunState
from tests.engine.table import (
    ALICE,
    BOB,
    CAROL,
    DAN,
    DIRECTORY,
    NOW,
    Fire,
    FireKey,
    Run,
    audits,
    message,
    ok,
    refused,
    roundtrip,
    timers_cleared,
    timers_set,
)

W = "waiting_on_person"

# --- timers: reminders and deadlines ------------------------------------------------------------
TIMED = """
id: timed
roles: {editor: [UBOB], lead: [UCAROL]}
conductor: lead
steps:
  - {id: draft, ask: starter, due: 3d, remind: [1d, 2d, 4d], %s}
  - {id: after, ask: starter}
"""


def test_reminders_and_deadline_are_set_when_a_step_starts():
    run = Run(TIMED % "escalate_to: editor")
    set_ = {(t.kind, t.due_at) for t in timers_set(run.effects)}
    assert set_ == {("reminder", NOW + timedelta(days=1)), ("reminder", NOW + timedelta(days=2)),
                    ("deadline", NOW + timedelta(days=3))}  # the 4d reminder comes after the deadline
    assert {(t.kind, t.due_at) for t in run.state.timers.values()} == set_


@pytest.mark.parametrize(("escalation", "told"), [("escalate_to: editor", BOB), ("name: Draft", CAROL)],
                         ids=["escalate_to", "conductor"])
def test_reminder_then_deadline_then_answer_clears_the_rest(escalation, told):
    run = Run(TIMED % escalation)
    run.play([(Fire("reminder", "draft"), ok(draft=W, says="reminder"))])
    assert run.now == NOW + timedelta(days=1)
    reminder = message(run.effects, "reminder")
    assert reminder.to == (ALICE,) and reminder.number == 1
    deadline = run.timer("deadline", "draft")
    run.play([(Fire("deadline", "draft"), ok(draft=W, run="waiting", says="overdue"))])
    assert message(run.effects, "overdue").to == (told,)
    assert run.state.steps["draft"].overdue
    left = set(run.state.timers)
    assert len(left) == 1  # the second reminder
    run.play([
        (ev.Answer("draft", ALICE), ok(draft="completed", after=W)),
        (FireKey(deadline.key), refused("stale")),
        (FireKey(next(iter(left))), refused("stale")),
    ])


def test_completing_a_step_clears_its_timers():
    run = Run(TIMED % "escalate_to: editor")
    keys = set(run.state.timers)
    run.play([(ev.Answer("draft", ALICE), ok(draft="completed"))])
    assert timers_cleared(run.effects) == keys
    assert not [t for t in run.state.timers.values() if t.step_id == "draft"]


# --- approvals ----------------------------------------------------------------------------------
APPROVALS = """
id: approvals
roles: {editors: [UBOB, UCAROL]}
steps:
  - {id: draft, ask: starter, outputs: {doc: url}}
  - {id: polish, ask: starter}
  - {id: approve, approvers: [editors], min_approvals: 2, due: 2d, remind: [1d], %s}
  - {id: publish, ask: starter}
"""
DOC = {"doc": "https://docs.example.com/1"}


def _to_approval(loop: str = "on_reject: draft") -> Run:
    run = Run(APPROVALS % loop)
    run.play([(ev.Answer("draft", ALICE, DOC), ok(polish=W)), (ev.Answer("polish", ALICE), ok(approve=W))])
    assert message(run.effects, "approval_request").to == (BOB, CAROL)
    return run


def test_approval_needs_distinct_approvers():
    run = _to_approval()
    run.play([
        (ev.Approve("approve", DAN), refused("not_allowed", approve=W)),
        (ev.Approve("approve", BOB), ok(approve=W, publish="pending", says="approval_progress")),
        (ev.Approve("approve", BOB), refused("duplicate", approve=W)),
        (ev.Approve("approve", CAROL), ok(approve="completed", publish=W)),
    ])
    assert run.state.steps["approve"].approvals == [BOB, CAROL]


def test_rejection_loops_back_and_the_steps_in_between_run_again():
    run = _to_approval()
    approval_timers = {k for k, t in run.state.timers.items() if t.step_id == "approve"}
    run.play([
        (ev.Approve("approve", BOB), ok(approve=W)),
        (ev.Reject("approve", CAROL, "too long"), ok(draft=W, polish="pending", approve="pending", says="rejected")),
    ])
    assert approval_timers and approval_timers <= timers_cleared(run.effects)
    assert not [t for t in run.state.timers.values() if t.step_id == "approve"]
    assert run.state.steps["draft"].attempt == 2 and run.state.steps["draft"].outputs is None
    run.play([
        (ev.Answer("draft", ALICE, DOC), ok(polish=W)),
        (ev.Answer("polish", ALICE), ok(approve=W)),
        (ev.Approve("approve", BOB), ok(approve=W)),  # earlier approvals do not count again
        (ev.Approve("approve", CAROL), ok(approve="completed", publish=W)),
    ])
    assert [run.state.steps[s].attempt for s in ("draft", "polish", "approve", "publish")] == [2, 2, 2, 1]


def test_rejection_without_on_reject_fails_the_run():
    run = _to_approval(loop="name: Approve")
    run.play([(ev.Reject("approve", BOB, "no"), ok(approve="failed", publish="pending", run="failed", says="run_finished"))])
    assert "no" in run.state.reason and not run.state.timers


def test_approval_reminder_goes_only_to_those_who_have_not_approved():
    run = _to_approval()
    run.play([(ev.Approve("approve", BOB), ok(approve=W)), (Fire("reminder", "approve"), ok(says="reminder"))])
    assert message(run.effects, "reminder").to == (CAROL,)


PARALLEL_REVIEW = """
id: parallel-review
roles: {brand: [UBOB]}
steps:
  - {id: brief, ask: starter}
  - {id: copy, ask: starter, needs: brief}
  - {id: design, ask: starter, needs: brief}
  - {id: review, approvers: [brand], needs: [copy, design], on_reject: copy}
"""


def _rejected_parallel_review() -> Run:
    run = Run(PARALLEL_REVIEW)
    run.play([(ev.Answer(s, ALICE), ok()) for s in ("brief", "copy", "design")])
    run.play([(ev.Reject("review", BOB, "off brand"), ok(copy=W, review="pending"))])
    return run


def test_rejection_across_a_join_asks_the_review_again_only_after_both_sides():
    run = _rejected_parallel_review()
    run.play([(ev.Answer("copy", ALICE), ok(copy="completed"))])
    if run.state.steps["design"].active:  # design asked again: the review waits for it
        assert run.state.steps["review"].status.value == "pending"
        run.play([(ev.Answer("design", ALICE), ok())])
    run.play([(ev.Approve("review", BOB), ok(review="completed", run="completed"))])
    assert run.state.steps["copy"].attempt == 2


def test_rejection_across_a_join_does_not_leave_the_parallel_step_idle():
    run = _rejected_parallel_review()
    assert run.state.steps["design"].status.value in (W, "completed")
    run.play([(ev.Answer("copy", ALICE), ok())])
    assert not audits(run.effects, "joined_partially")


# --- cancel, abort, final runs ------------------------------------------------------------------
CANCEL = """
id: cancel
roles: {boss: [UBOB], lead: [UCAROL]}
conductor: lead
permissions: {cancel: [boss]}
steps:
  - {id: a, ask: starter}
  - {id: b, ask: starter, needs: a, due: 1d}
  - {id: c, ask: starter, needs: a, remind: [1h]}
"""


@pytest.mark.parametrize(("event", "final"), [(ev.Cancel(BOB), "cancelled"), (ev.Cancel(CAROL), "cancelled"),
                                              (ev.Abort(BOB, "broken"), "failed")])
def test_cancel_and_abort_end_every_active_step_and_timer(event, final):
    run = Run(CANCEL)
    run.play([(ev.Answer("a", ALICE), ok(b=W, c=W))])
    keys = set(run.state.timers)
    run.play([
        (ev.Cancel(ALICE), refused("not_allowed", b=W, c=W)),
        (ev.Abort(DAN), refused("not_allowed")),
        (event, ok(a="completed", b="cancelled", c="cancelled", run=final, says="run_finished")),
    ])
    assert keys and timers_cleared(run.effects) == keys and not run.state.timers
    assert run.state.final and run.state.finished_at == NOW
    late = [ev.Answer("b", ALICE), FireKey(next(iter(keys))), ev.Cancel(BOB), ev.Recover("b"), ev.Skip("c", BOB)]
    run.play([(event, refused("run_finished", b="cancelled")) for event in late])


# --- purity and persistence ---------------------------------------------------------------------
def test_advance_never_changes_the_state_it_is_given_and_is_repeatable():
    run = _to_approval()
    run.play([(ev.Approve("approve", BOB), ok(approve=W))])
    before = run.state.to_json()
    first = advance(run.workflow, run.state, ev.Reject("approve", CAROL, "x"), NOW, DIRECTORY)
    second = advance(run.workflow, run.state, ev.Reject("approve", CAROL, "x"), NOW, DIRECTORY)
    assert run.state.to_json() == before
    assert first.state.to_json() == second.state.to_json() and first.effects == second.effects


def test_state_round_trips_through_json():
    run = _to_approval()
    run.play([(ev.Approve("approve", BOB), ok(approve=W))])
    state = run.state
    assert state.timers and state.steps["approve"].approvals and state.steps["draft"].outputs == DOC
    again = RunState.from_json(state.to_json())
    assert again == state and again.to_json() == state.to_json()
    assert again.steps["approve"].started_at.tzinfo is not None
    assert roundtrip(state) == state
    # The copy carries on exactly as the original would.
    a = advance(run.workflow, state, ev.Approve("approve", CAROL), NOW, DIRECTORY)
    b = advance(run.workflow, again, ev.Approve("approve", CAROL), NOW, DIRECTORY)
    assert a.state == b.state and a.effects == b.effects
