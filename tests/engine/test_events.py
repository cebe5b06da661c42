"""Every event class is handled by `advance` (accepted or refused, never unmatched), and "Need
help" goes through the engine: a note in the thread and an audit row, the run unchanged."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.engine import events as ev
from bot.engine import refusals as r
from bot.engine.machine import Accepted, Refused
from bot.engine.messages import HelpRequested
from tests.engine.table import ALICE, BOB, CAROL, Run, audits, has_header_update, messages

FLOW = """
id: flow
conductor: leads
roles: {leads: [UALICE]}
steps:
  - {id: one, ask: UBOB, outputs: {n: integer}}
  - {id: sign, approvers: [leads]}
  - {id: path, decide: UBOB, routes: [{goto: calc, label: Calc}, {goto: end}]}
  - {id: calc, uses: conductor/wait, with: {for: 1m}}
"""

SAMPLES: list[ev.Event] = [
    ev.Answer("one", BOB, {"n": 1}),
    ev.Approve("sign", ALICE),
    ev.Reject("sign", ALICE, "no"),
    ev.Decide("path", BOB, "Calc"),
    ev.StandupAnswer("one", BOB, {}),
    ev.StandupReply("one", BOB, "done"),
    ev.AutomationSucceeded("calc", 1, 1, {}),
    ev.AutomationFailed("calc", 1, 1, "boom"),
    ev.TimerFired("no-such-timer"),
    ev.TakeOver("calc", ALICE, {}),
    ev.RetryNow("calc", ALICE),
    ev.Skip("one", ALICE),
    ev.Reassign("one", ALICE, CAROL),
    ev.AskForHelp("one", BOB),
    ev.Abort(ALICE),
    ev.Cancel(ALICE),
    ev.Recover("calc"),
    ev.ShadowFinished("one", 1, "ok", {}),
]


def test_the_samples_cover_every_event_class():
    assert sorted(type(e).__name__ for e in SAMPLES) == sorted(cls.__name__ for cls in get_args(ev.Event))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_is_handled(event: ev.Event):
    outcome = Run(FLOW).send(event)  # an unhandled class would fail `assert_never`
    assert isinstance(outcome, (Accepted, Refused))
    if isinstance(outcome, Refused):
        assert isinstance(outcome.refusal, r.Refusal) and outcome.reason


def test_help_is_a_note_to_the_conductor_and_the_run_does_not_move():
    run = Run(FLOW)
    before = run.state
    outcome = run.send(ev.AskForHelp("one", BOB))
    assert isinstance(outcome, Accepted)
    assert outcome.state.seq == before.seq + 1
    assert outcome.state.to_json() == {**before.to_json(), "seq": before.seq + 1}
    (note,) = messages(outcome.effects)
    assert note == HelpRequested(step_id="one", to=(ALICE,), title="one", actor=BOB)
    assert [(a.type, a.actor, a.step_id) for a in audits(outcome.effects)] == [("help_requested", BOB, "one")]
    assert not has_header_update(outcome.effects)  # nothing new for the header to show


def test_help_without_a_conductor_asks_those_who_may_take_over():
    run = Run(FLOW.replace("conductor: leads\n", "permissions: {take_over: [leads]}\n"))
    outcome = run.send(ev.AskForHelp("one", BOB))
    assert isinstance(outcome, Accepted) and messages(outcome.effects)[0].to == (ALICE,)


def test_help_is_refused_for_a_step_not_in_progress():
    run = Run(FLOW)
    pending = run.send(ev.AskForHelp("sign", BOB))
    assert isinstance(pending, Refused) and isinstance(pending.refusal, r.NotInProgress)
    assert (pending.code, pending.reason) == ("not_waiting", "`sign` is not in progress (it is pending)")
    unknown = run.send(ev.AskForHelp("nope", BOB))
    assert isinstance(unknown, Refused) and unknown.code == "unknown_step"
    run.send(ev.Cancel(ALICE))
    over = run.send(ev.AskForHelp("one", BOB))
    assert isinstance(over, Refused) and over.code == "run_finished"
