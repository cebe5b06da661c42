"""Each refusal says its own sentence, under the code callers and audit rows have always used;
the engine raises them and audits `{"code", "reason", "event"}` as before."""

from __future__ import annotations

import pytest

from bot.engine import events as ev
from bot.engine import refusals as r
from bot.engine.machine import Refused
from tests.engine.table import ALICE, BOB, Run, audits

TEXTS: list[tuple[r.Refusal, str, str]] = [
    (r.MayNotStart("blog"), "not_allowed", "you may not start `blog`"),
    (r.NotAllowed("take_over", ("leads", "ops"), "blog"), "not_allowed", "only leads, ops may take over in `blog`"),
    (r.NotAllowed("cancel", (), "blog"), "not_allowed", "you may not cancel in `blog`"),
    (r.NotYours("approval"), "not_allowed", "this approval is not yours"),
    (r.NotAllowedTo("Reload", "only admins may reload workflows"), "not_allowed", "only admins may reload workflows"),
    (r.InvalidInputs({"title": "field required"}), "invalid_inputs", "`title` field required"),
    (r.InvalidOutputs({"n": "too big", "": "outputs must be a mapping"}), "invalid_outputs",
     "`n` too big; outputs must be a mapping"),
    (r.InvalidChoice("Maybe"), "invalid_choice", "`Maybe` is not one of the choices"),
    (r.InvalidAssignee("bob"), "invalid_assignee", "`bob` is not a Slack user"),
    (r.AlreadyApproved(), "duplicate", "you have already approved this"),
    (r.UnknownRun("abc"), "unknown_run", "there is no run `abc`"),
    (r.UnknownWorkflow("x", "no workflow `x` (known: a, b)"), "unknown_workflow", "no workflow `x` (known: a, b)"),
    (r.UnknownWorkflow("x"), "unknown_workflow", "no workflow `x`"),
    (r.RunFinished("cancelled"), "run_finished", "this run has already cancelled"),
    (r.UnknownStep("nope"), "unknown_step", "there is no step `nope` in this run"),
    (r.WrongStep("Draft"), "wrong_step", "`Draft` cannot take that action"),
    (r.DecidesByItself("Route"), "wrong_step", "`Route` decides by itself"),
    (r.NotWaiting("Draft", "retry_wait"), "not_waiting", "`Draft` is retry wait, not waiting for that"),
    (r.NotInProgress("Draft", "completed"), "not_waiting", "`Draft` is not in progress (it is completed)"),
    (r.StaleResult(1, 2), "stale", "a late result of an earlier try was ignored"),
    (r.StaleTimer("k"), "stale", "that timer is no longer set"),
    (r.UnknownTimer("gong"), "unknown_timer", "unknown timer kind `gong`"),
]


def test_every_refusal_class_has_a_text_case():
    assert {type(refusal) for refusal, _, _ in TEXTS} == set(r.REFUSALS)
    def leaves(cls: type[r.Refusal]) -> set[type[r.Refusal]]:
        below = cls.__subclasses__()
        return set().union(*(leaves(c) for c in below)) if below else {cls}

    assert set(r.REFUSALS) == leaves(r.Refusal)


@pytest.mark.parametrize(("refusal", "code", "text"), TEXTS, ids=lambda v: type(v).__name__ if isinstance(v, r.Refusal) else "")
def test_a_refusal_says_its_own_text(refusal: r.Refusal, code: str, text: str):
    assert (refusal.code, refusal.text, refusal.reason, str(refusal)) == (code, text, text, text)
    with pytest.raises(r.Refusal):
        raise refusal


def test_field_errors_come_with_the_refusals_about_fields():
    assert r.InvalidOutputs({"n": "too big"}).field_errors == {"n": "too big"}
    assert r.InvalidInputs({"t": "missing"}).field_errors == {"t": "missing"}
    assert r.NotYours("step").field_errors == {}


FLOW = """
id: flow
roles: {leads: [UALICE]}
permissions: {cancel: [leads]}
steps:
  - {id: one, ask: UBOB, outputs: {n: {type: integer, max: 3}}}
  - {id: two, ask: UBOB}
"""


def test_the_engine_raises_them_and_audits_code_and_reason():
    run = Run(FLOW)
    refused = run.send(ev.Answer("one", BOB, {"n": 9}))
    assert isinstance(refused, Refused) and isinstance(refused.refusal, r.InvalidOutputs)
    assert refused.field_errors == {"n": refused.refusal.problems["n"]}
    audit = audits(refused.effects, "refused")[0]
    assert audit.payload["code"] == "invalid_outputs" and audit.payload["reason"] == refused.reason
    assert audit.payload["event"]["type"] == "Answer"
    cancel = run.send(ev.Cancel(BOB))
    assert isinstance(cancel, Refused) and isinstance(cancel.refusal, r.NotAllowed)
    assert cancel.refusal.roles == ("leads",)
    assert cancel.reason == "only leads may cancel in `flow`"
    run.send(ev.Cancel(ALICE))
    finished = run.send(ev.Answer("one", BOB, {"n": 1}))
    assert isinstance(finished, Refused) and isinstance(finished.refusal, r.RunFinished)
    assert (finished.code, finished.reason) == ("run_finished", "this run has already cancelled")
