"""A small table runner for transition tests of the pure engine.

A `Run` starts a run of an inline workflow at a fixed moment and applies rows of
(event, expectation). Time only moves when a test says so: `Run.tick`, or a `Fire` row, which
moves the clock to the timer's due time before firing it. Every event applied also checks what
holds for any event: the state given to `advance` is left untouched, a refusal is audited,
and the state round-trips through JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.definitions.loader import load_bytes
from bot.definitions.workflow import Workflow
from bot.engine import events as ev
from bot.engine.effects import Audit, ClearTimer, Message, RunAutomation, SetTimer, UpdateHeader
from bot.engine.machine import Accepted, Refused, advance, start_run
from bot.engine.permissions import StaticDirectory
from bot.engine.state import RunState

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)  # a Monday morning

# People (Slack user IDs) and a user group.
ALICE, BOB, CAROL, DAN, EVE = "UALICE", "UBOB", "UCAROL", "UDAN", "UEVE"
WRITERS = "SWRITERS"
DIRECTORY = StaticDirectory({WRITERS: [CAROL, DAN]})


def workflow(text: str) -> Workflow:
    loaded, problems = load_bytes("test.yaml", text.encode())
    assert loaded is not None, [p.format() for p in problems]
    return loaded.workflow


# --- effects ------------------------------------------------------------------------------------
def messages(effects: list[Any], kind: str | None = None) -> list[Message]:
    return [e for e in effects if isinstance(e, Message) and (kind is None or e.kind == kind)]


def message(effects: list[Any], kind: str) -> Message:
    found = messages(effects, kind)
    assert len(found) == 1, f"expected one `{kind}` message, got {messages(effects)}"
    return found[0]


def audits(effects: list[Any], type_: str | None = None) -> list[Audit]:
    return [e for e in effects if isinstance(e, Audit) and (type_ is None or e.type == type_)]


def timers_set(effects: list[Any], kind: str | None = None) -> list[SetTimer]:
    return [e for e in effects if isinstance(e, SetTimer) and (kind is None or e.kind == kind)]


def timers_cleared(effects: list[Any]) -> set[str]:
    return {e.key for e in effects if isinstance(e, ClearTimer)}


def automations(effects: list[Any]) -> list[RunAutomation]:
    return [e for e in effects if isinstance(e, RunAutomation)]


def has_header_update(effects: list[Any]) -> bool:
    return any(isinstance(e, UpdateHeader) for e in effects)


# --- rows ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fire:
    """Fire the earliest timer of `kind` set for `step_id`, at its due time."""

    kind: str
    step_id: str


@dataclass(frozen=True)
class FireKey:
    """Fire a timer by its key (for timers no longer set), without moving the clock."""

    key: str


@dataclass(frozen=True)
class Expect:
    code: str | None = None  # refused with this code; None: accepted
    fields: tuple[str, ...] = ()  # fields named in a refusal's field_errors
    steps: dict[str, str] = field(default_factory=dict)  # step id -> status
    run: str | None = None  # run status
    says: tuple[str, ...] = ()  # kinds of messages among the effects


def ok(run: str | None = None, says: tuple[str, ...] | str = (), **steps: str) -> Expect:
    return Expect(steps=steps, run=run, says=(says,) if isinstance(says, str) else says)


def refused(code: str, *fields: str, **steps: str) -> Expect:
    """Refused with `code`; the state (so `steps`, when given) is as it was."""
    return Expect(code=code, fields=fields, steps=steps)


def statuses(state: RunState) -> dict[str, str]:
    return {step_id: st.status.value for step_id, st in state.steps.items()}


def roundtrip(state: RunState) -> RunState:
    return RunState.from_json(json.loads(json.dumps(state.to_json())))


class Run:
    def __init__(self, wf: Workflow | str, *, actor: str | None = ALICE, inputs: dict[str, Any] | None = None,
                 now: datetime = NOW, directory: StaticDirectory = DIRECTORY, run_id: str = "run1"):
        self.workflow = workflow(wf) if isinstance(wf, str) else wf
        self.now = now
        self.directory = directory
        outcome = start_run(self.workflow, run_id=run_id, version="v1", actor=actor, inputs=inputs or {},
                            now=now, directory=directory)
        assert isinstance(outcome, Accepted), outcome
        self.state = outcome.state
        self.effects = outcome.effects

    # --- time -------------------------------------------------------------------------------
    def tick(self, delta: timedelta) -> None:
        assert delta >= timedelta(0)
        self.now += delta

    def timer(self, kind: str, step_id: str):
        """The earliest timer of `kind` set for `step_id`."""
        found = [t for t in self.state.timers.values() if t.kind == kind and t.step_id == step_id]
        assert found, f"no {kind} timer for {step_id} among {list(self.state.timers)}"
        return min(found, key=lambda t: t.due_at)

    # --- events -----------------------------------------------------------------------------
    def send(self, event: Any) -> Accepted | Refused:
        if isinstance(event, Fire):
            timer = self.timer(event.kind, event.step_id)
            self.now = max(self.now, timer.due_at)
            event = ev.TimerFired(timer.key)
        elif isinstance(event, FireKey):
            event = ev.TimerFired(event.key)
        before = json.dumps(self.state.to_json(), sort_keys=True)
        outcome = advance(self.workflow, self.state, event, self.now, self.directory)
        assert json.dumps(self.state.to_json(), sort_keys=True) == before, "advance changed the state it was given"
        if isinstance(outcome, Refused):
            refusals = audits(outcome.effects, "refused")
            assert refusals, f"refusal `{outcome.code}` carries no refused audit"
            assert refusals[0].payload["code"] == outcome.code
        else:
            assert outcome.state is not self.state
            assert roundtrip(outcome.state) == outcome.state
            self.state = outcome.state
        self.effects = outcome.effects
        return outcome

    def play(self, rows: list[tuple[Any, Expect]]) -> None:
        for n, (event, expect) in enumerate(rows):
            outcome = self.send(event)
            where = f"row {n}: {event}"
            if expect.code is not None:
                assert isinstance(outcome, Refused), f"{where}: expected refusal `{expect.code}`, was accepted"
                assert outcome.code == expect.code, f"{where}: {outcome.code}: {outcome.reason}"
                assert set(expect.fields) <= set(outcome.field_errors), f"{where}: {outcome.field_errors}"
            else:
                assert isinstance(outcome, Accepted), f"{where}: refused {outcome.code}: {outcome.reason}"
            got = statuses(self.state)
            assert {k: got[k] for k in expect.steps} == expect.steps, f"{where}: {got}"
            if expect.run is not None:
                assert self.state.status.value == expect.run, f"{where}: run is {self.state.status.value}"
            kinds = [m.kind for m in messages(outcome.effects)]
            for kind in expect.says:
                assert kind in kinds, f"{where}: no `{kind}` message among {kinds}"
