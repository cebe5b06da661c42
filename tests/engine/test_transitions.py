"""Transitions of the pure engine for starting a run, people's handoffs, conditions, gates
and joins: tables of (event, expected outcome), each on a small workflow made for the concern."""

from __future__ import annotations

import pytest

from bot.engine import events as ev
from bot.engine.machine import Accepted, Refused, start_run
from tests.engine.table import (
    ALICE,
    BOB,
    CAROL,
    DAN,
    DIRECTORY,
    EVE,
    NOW,
    WRITERS,
    Run,
    audits,
    has_header_update,
    message,
    ok,
    refused,
    statuses,
    workflow,
)

W = "waiting_on_person"

# --- starting a run -----------------------------------------------------------------------------
START = workflow("""
id: start
name: Start here
roles: {editor: [UBOB], writers: [SWRITERS]}
permissions: {start: [editor, writers]}
inputs:
  title: string
  count: {type: integer, min: 1, default: 3}
  writer: {type: user, required: false}
steps:
  - {id: first, ask: starter, prompt: "Write {{ inputs.title }} x{{ inputs.count }}"}
""")


def _start(actor, inputs):
    return start_run(START, run_id="r", version="v1", actor=actor, inputs=inputs, now=NOW, directory=DIRECTORY)


@pytest.mark.parametrize(("actor", "allowed"), [(BOB, True), (CAROL, True), (None, True), (EVE, False)],
                         ids=["role-member", "group-member", "system", "stranger"])
def test_start_is_permitted_by_the_start_roles(actor, allowed):
    outcome = _start(actor, {"title": "T"})
    assert isinstance(outcome, Accepted) is allowed
    if not allowed:
        assert outcome.code == "not_allowed"
        assert [a.payload["code"] for a in audits(outcome.effects, "refused")] == ["not_allowed"]


@pytest.mark.parametrize(("inputs", "bad"), [
    ({}, "title"),
    ({"title": "T", "count": 0}, "count"),
    ({"title": "T", "count": "many"}, "count"),
    ({"title": "T", "writer": "not-a-user"}, "writer"),
    ({"title": "T", "colour": "red"}, "colour"),
])
def test_start_refuses_invalid_inputs_field_by_field(inputs, bad):
    outcome = _start(BOB, inputs)
    assert isinstance(outcome, Refused) and outcome.code == "invalid_inputs"
    assert bad in outcome.field_errors
    assert audits(outcome.effects, "refused")


def test_start_applies_defaults_activates_the_first_step_and_announces_the_run():
    outcome = _start(BOB, {"title": "Launch"})
    assert isinstance(outcome, Accepted)
    state = outcome.state
    assert state.inputs == {"title": "Launch", "count": 3, "writer": None}
    assert state.started_by == BOB and state.started_at == NOW
    assert statuses(state) == {"first": W} and state.status.value == "waiting"
    assert state.steps["first"].attempt == 1 and state.steps["first"].assignees == [BOB]
    started = message(outcome.effects, "run_started")
    assert started.to == (BOB,) and started.workflow == "Start here"
    assert has_header_update(outcome.effects)
    ask = message(outcome.effects, "ask")
    assert ask.to == (BOB,) and ask.text == "Write Launch x3"


# --- tasks --------------------------------------------------------------------------------------
TASKS = """
id: tasks
roles: {editor: [UBOB], writers: [SWRITERS]}
inputs: {writer: user}
steps:
  - id: draft
    ask: "{{ inputs.writer }}"
    outputs:
      doc_url: url
      words: {type: integer, min: 300}
  - id: edit
    ask: writers
    outputs: {notes: {type: string, required: false}}
  - {id: confirm, ask: starter}
"""


def test_task_handoffs_are_checked_by_assignee_outputs_and_status():
    run = Run(TASKS, inputs={"writer": EVE})
    assert run.state.steps["draft"].assignees == [EVE]
    good = {"doc_url": "https://docs.example.com/d/1", "words": 450}
    run.play([
        (ev.Answer("draft", BOB, good), refused("not_allowed", draft=W)),
        (ev.Answer("draft", EVE, {**good, "words": 10}), refused("invalid_outputs", "words", draft=W)),
        (ev.Answer("draft", EVE, {"words": 450, "extra": 1}), refused("invalid_outputs", "doc_url", "extra", draft=W)),
        (ev.Answer("nope", EVE, good), refused("unknown_step")),
        (ev.Answer("draft", EVE, good), ok(draft="completed", edit=W, confirm="pending", run="waiting", says="step_finished")),
        (ev.Answer("draft", EVE, good), refused("not_waiting", draft="completed")),
        (ev.Answer("edit", EVE, {}), refused("not_allowed", edit=W)),  # EVE is not in the writers group
        (ev.Answer("edit", DAN, {}), ok(edit="completed", confirm=W)),  # DAN is in the writers group
        (ev.Answer("confirm", BOB), refused("not_allowed")),
        (ev.Answer("confirm", ALICE), ok(confirm="completed", run="completed", says="run_finished")),
    ])
    assert run.state.steps["draft"].outputs == good and run.state.steps["draft"].actor == EVE
    assert run.state.steps["edit"].outputs == {"notes": None} and run.state.steps["edit"].assignees == [WRITERS]
    assert run.state.finished_at == NOW


def test_ask_template_that_gives_no_user_falls_back_to_the_conductor():
    wf = workflow("""
id: fallback
roles: {lead: [UBOB]}
conductor: lead
inputs: {who: {type: string, required: false}}
steps:
  - {id: a, ask: "{{ inputs.who }}"}
""")
    run = Run(wf, inputs={"who": "somebody"})
    assert run.state.steps["a"].assignees == [BOB]
    assert audits(run.effects, "assignee_unresolved")


# --- flow: if, next, gates, needs ---------------------------------------------------------------
@pytest.mark.parametrize(("urgent", "expected"), [(True, {"triage": W, "work": "pending"}),
                                                  (False, {"triage": "skipped", "work": W})])
def test_if_false_skips_the_step_and_the_run_goes_on(urgent, expected):
    run = Run("""
id: cond
inputs: {urgent: boolean}
steps:
  - {id: triage, ask: starter, if: inputs.urgent}
  - {id: work, ask: starter}
""", inputs={"urgent": urgent})
    assert statuses(run.state) == expected


def test_next_end_ends_the_path():
    run = Run("""
id: ends
steps:
  - {id: a, ask: starter, next: end}
  - {id: b, ask: starter}
""")
    run.play([(ev.Answer("a", ALICE), ok(a="completed", b="pending", run="completed"))])


GATE = """
id: gate
inputs: {plan: {type: enum, options: [free, pro, enterprise]}, seats: integer}
steps:
  - id: qualify
    routes:
      - {if: 'inputs.plan == "enterprise" or inputs.seats > 200', goto: manager}
      - {if: inputs.seats > 10, goto: team}
    %s
  - {id: following, ask: starter, next: end}
  - {id: manager, ask: starter, next: end}
  - {id: team, ask: starter, next: end}
  - {id: selfserve, ask: starter}
"""


@pytest.mark.parametrize(("default", "plan", "seats", "chosen"), [
    ("default: selfserve", "enterprise", 500, "manager"),  # both routes hold: the first wins
    ("default: selfserve", "free", 300, "manager"),
    ("default: selfserve", "pro", 50, "team"),
    ("default: selfserve", "free", 1, "selfserve"),
    ("", "free", 1, "following"),  # no default: fall through to the following step
    ("default: end", "free", 1, None),
])
def test_gate_takes_the_first_route_that_holds(default, plan, seats, chosen):
    run = Run(GATE % default, inputs={"plan": plan, "seats": seats})
    active = [step_id for step_id, st in run.state.steps.items() if st.active]
    assert active == ([chosen] if chosen else [])
    assert run.state.steps["qualify"].status.value == "completed"
    assert run.state.steps["qualify"].route == (chosen or "end")
    assert run.state.status.value == ("waiting" if chosen else "completed")


DECIDE = """
id: decide
roles: {leads: [UBOB]}
steps:
  - id: path
    decide: leads
    prompt: Standard or custom?
    routes:
      - {label: Standard, goto: standard}
      - {label: Custom, goto: custom}
  - {id: standard, ask: starter, next: end}
  - {id: custom, ask: starter}
"""


@pytest.mark.parametrize("choice", ["Custom", "custom"], ids=["by-label", "by-goto"])
def test_decide_gate_is_chosen_by_its_person(choice):
    run = Run(DECIDE)
    request = message(run.effects, "decision_request")
    assert request.to == (BOB,) and request.options == ("Standard", "Custom")
    run.play([
        (ev.Decide("path", ALICE, "Custom"), refused("not_allowed", path=W)),
        (ev.Decide("path", BOB, "Premium"), refused("invalid_choice", path=W)),
        (ev.Answer("path", BOB), refused("wrong_step")),
        (ev.Decide("path", BOB, choice), ok(path="completed", custom=W, standard="pending")),
        (ev.Decide("path", BOB, choice), refused("not_waiting")),
    ])
    assert run.state.steps["path"].route == "custom" and run.state.steps["path"].actor == BOB


def test_needs_fan_out_and_join():
    run = Run("""
id: parallel
steps:
  - {id: brief, ask: starter}
  - {id: copy, ask: starter, needs: brief}
  - {id: design, ask: starter, needs: brief}
  - {id: review, ask: starter, needs: [copy, design]}
  - {id: ship, ask: starter}
""")
    run.play([
        (ev.Answer("brief", ALICE), ok(copy=W, design=W, review="pending")),
        (ev.Answer("design", ALICE), ok(copy=W, design="completed", review="pending", run="waiting")),
        (ev.Answer("copy", ALICE), ok(review=W, ship="pending")),
        (ev.Answer("review", ALICE), ok(ship=W)),
        (ev.Answer("ship", ALICE), ok(run="completed")),
    ])


@pytest.mark.parametrize(("fast", "taken", "not_taken"), [(True, "quick", "thorough"), (False, "thorough", "quick")])
def test_join_after_a_branch_not_taken_goes_on_with_the_steps_that_ran(fast, taken, not_taken):
    run = Run("""
id: branches
inputs: {fast: boolean}
steps:
  - id: pick
    routes: [{if: inputs.fast, goto: quick}]
    default: thorough
  - {id: quick, ask: starter, next: end}
  - {id: thorough, ask: starter}
  - {id: merge, ask: starter, needs: [quick, thorough]}
""", inputs={"fast": fast})
    run.play([(ev.Answer(taken, ALICE), ok(merge=W, run="waiting", **{not_taken: "pending"}))])
    assert [a.step_id for a in audits(run.effects, "joined_partially")] == ["merge"]
    run.play([(ev.Answer("merge", ALICE), ok(run="completed"))])


def test_gate_falling_through_does_not_start_a_join_early():
    run = Run("""
id: gate-join
inputs: {n: integer}
steps:
  - {id: a, ask: starter}
  - {id: b, ask: starter, needs: a}
  - id: g
    needs: a
    routes: [{if: inputs.n > 1, goto: end}]
  - {id: j, ask: starter, needs: [b, g]}
""", inputs={"n": 0})
    run.play([
        (ev.Answer("a", ALICE), ok(b=W, g="completed", j="pending")),
        (ev.Answer("b", ALICE), ok(j=W)),
    ])
