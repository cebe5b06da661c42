"""Writing an accepted transition to the database: run, step runs, timers, outbox, audit.

Everything here runs inside the caller's transaction, so a state change and the messages,
timers and audit rows it causes are committed together or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, assert_never, cast

from sqlalchemy import Connection, Table, bindparam, insert, update

from bot.definitions import templates
from bot.definitions.workflow import Workflow
from bot.engine.effects import (
    Audit,
    ClearTimer,
    Effect,
    Message,
    MessageBase,
    RecordCase,
    RunAutomation,
    RunShadow,
    SetTimer,
    StartRun,
    UpdateHeader,
)
from bot.engine.messages import HEADER, Post
from bot.engine.state import RunState, StepState
from bot.shadow.tables import ShadowCase
from bot.store.models import AuditEvent, OutboxMessage, Run, StepRun, Timer
from bot.store.upserts import insert_or_ignore

# Core tables: these writes are the hot path of every transition and need no ORM identity.
# (`__table__` is typed as any FromClause; a mapped class's is its Table.)
STEP_RUNS = cast(Table, StepRun.__table__)
TIMERS = cast(Table, Timer.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
AUDIT = cast(Table, AuditEvent.__table__)
RUNS = cast(Table, Run.__table__)
CASES = cast(Table, ShadowCase.__table__)

_STEP_COLUMNS = ("status", "assignee", "outputs", "error", "started_at", "finished_at", "updated_at")
# Built once: composing statements per call costs more than executing them.
_UPDATE_STEP = (
    update(STEP_RUNS)
    .where(STEP_RUNS.c.run_id == bindparam("b_run"), STEP_RUNS.c.step_id == bindparam("b_step"),
           STEP_RUNS.c.attempt == bindparam("b_attempt"))
    .values({name: bindparam(name) for name in _STEP_COLUMNS})
)
_INSERT_STEP = insert(STEP_RUNS)
_FIRE_TIMER = update(TIMERS).where(TIMERS.c.key == bindparam("b_key")).values(fired_at=bindparam("b_now"))
_CANCEL_TIMER = (
    update(TIMERS)
    .where(TIMERS.c.key == bindparam("b_key"), TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
    .values(cancelled_at=bindparam("b_now"))
)
_INSERT_OUTBOX = insert(OUTBOX)
_INSERT_AUDIT = insert(AUDIT)

DISPATCH = "dispatch"  # the timer kind that asks the clock to run an automation now
START_RUN = "start_run"  # the timer kind that asks the clock to start another run
SHADOW = "shadow"  # the timer kind that asks the clock to run a person step's shadow
WORK_KINDS = (DISPATCH, START_RUN, SHADOW)  # rows that are work for the clock, not engine timers
# A dispatch's rendered values, exactly, as JSON text: they mark the author's secret references
# with NUL characters, which PostgreSQL's JSONB cannot hold but JSON text escapes. Rows without
# it were written before authored references were marked (see `dispatch_params`).
MARKED_PARAMS = "marked_params"


def dispatch_payload(effect: RunAutomation) -> dict[str, Any]:
    """The dispatch row's payload. `params` keeps the values as people may read them (and as a
    clock of the previous release reads them); the runner gets `MARKED_PARAMS`."""
    return {"attempt": effect.attempt, "try_number": effect.try_number, "idempotency_key": effect.idempotency_key,
            "params": templates.shown(effect.params), MARKED_PARAMS: json.dumps(effect.params)}


def dispatch_params(payload: dict[str, Any]) -> dict[str, Any]:
    """The rendered values of a dispatch row, authored secret references marked.

    A row written before references were marked holds them as plain text; what was waiting
    then is run as it would have been: each reference in it is taken as the author's.
    """
    if MARKED_PARAMS in payload:
        marked: dict[str, Any] = json.loads(payload[MARKED_PARAMS])
        return marked
    authored: dict[str, Any] = templates.map_strings(payload.get("params") or {}, templates.mark_authored)
    return authored


def current_phase(workflow: Workflow, state: RunState) -> str | None:
    """The phase of the first step in progress, else of the last step that finished."""
    if not workflow.phases:
        return None
    for step in workflow.steps:
        if state.steps[step.id].active:
            return workflow.phase_of(step.id)
    finished = [(at, s.id) for s in workflow.steps
                if (at := state.steps[s.id].finished_at) is not None]
    if finished:
        _, latest = max(finished, key=lambda pair: pair[0])
        return workflow.phase_of(latest)
    return workflow.phases[0]


def _step_row(run_id: str, step_id: str, st: StepState, now: datetime) -> dict[str, Any]:
    return {
        "run_id": run_id, "step_id": step_id, "attempt": st.attempt, "status": st.status.value,
        "assignee": st.assignees[0] if len(st.assignees) == 1 else (",".join(st.assignees) or None),
        "outputs": st.outputs, "error": st.error or st.reason, "started_at": st.started_at,
        "finished_at": st.finished_at, "updated_at": now,
    }


def _changed(before: StepState | None, after: StepState) -> bool:
    if before is None:
        return after.attempt > 0
    return (before.status, before.attempt, before.assignees, before.outputs, before.error, before.reason) != (
        after.status, after.attempt, after.assignees, after.outputs, after.error, after.reason
    )


def write_steps(conn: Connection, before: RunState | None, after: RunState, now: datetime) -> None:
    """One step-run row per attempt: new attempts inserted, changed ones updated."""
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for step_id, st in after.steps.items():
        old = before.steps.get(step_id) if before else None
        if st.attempt == 0 or not _changed(old, st):
            continue
        row = _step_row(after.run_id, step_id, st, now)
        if old is None or old.attempt != st.attempt:
            inserts.append(row)
        else:
            updates.append({"b_run": after.run_id, "b_step": step_id, "b_attempt": st.attempt,
                            **{name: row[name] for name in _STEP_COLUMNS}})
    if updates:
        conn.execute(_UPDATE_STEP, updates)
    if inserts:
        conn.execute(_INSERT_STEP, inserts)


def message_channel(message: Message, run_channel: str | None, workflow: Workflow, fallback_escalation: str | None) -> str:
    match message.destination:
        case "thread":
            return run_channel or ""
        case "escalation":
            return workflow.escalation_channel or fallback_escalation or run_channel or ""
        case "dm":
            return message.to[0]
        case "channel":
            named = message.channel if isinstance(message, Post) else None
            return named or run_channel or ""
        case _:
            assert_never(message.destination)


def write_effects(
    conn: Connection, run_channel: str | None, workflow: Workflow, state: RunState, effects: list[Effect], now: datetime,
    *, fired_timer: str | None = None, fallback_escalation: str | None = None,
) -> None:
    """Timers, outbox rows and audit rows for one transition."""
    timers: list[dict[str, Any]] = []
    cleared: list[str] = []
    outbox: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for n, effect in enumerate(effects):
        dedupe = f"{state.run_id}:{state.seq}:{n}"
        match effect:
            case SetTimer():
                timers.append({"run_id": state.run_id, "step_id": effect.step_id, "kind": effect.kind,
                               "due_at": effect.due_at, "payload": effect.data, "key": effect.key})
            case ClearTimer():
                cleared.append(effect.key)
            case MessageBase():
                channel = message_channel(effect, run_channel, workflow, fallback_escalation)
                outbox.append({
                    "run_id": state.run_id, "channel": channel,
                    "thread_key": state.run_id if effect.destination == "thread" else None,
                    "kind": "dm" if effect.destination == "dm" else "post",
                    # The shape every release reads: kind, ids, step_id, to, text, data.
                    "payload": {**effect.to_payload(), "run_id": state.run_id, "workflow_id": workflow.id},
                    "dedupe_key": dedupe, "next_attempt_at": now, "created_at": now,
                })
            case UpdateHeader():
                outbox.append({
                    "run_id": state.run_id, "channel": run_channel or "", "thread_key": state.run_id,
                    "kind": "update", "payload": {"kind": HEADER, "run_id": state.run_id, "workflow_id": workflow.id},
                    "dedupe_key": dedupe, "next_attempt_at": now, "created_at": now,
                })
            case Audit():
                audits.append({"run_id": state.run_id, "step_id": effect.step_id, "actor": effect.actor,
                               "type": effect.type, "payload": effect.payload, "at": now})
            case StartRun():
                timers.append({"run_id": state.run_id, "step_id": None, "kind": START_RUN, "due_at": now,
                               "key": effect.key, "payload": {"workflow_id": effect.workflow_id,
                                                              "inputs": effect.inputs, "channel": run_channel}})
            case RunAutomation():
                # Starting an automation is a row too: the clock claims it and runs it, so an
                # automation asked for by any process runs once, and a crash loses nothing.
                timers.append({"run_id": state.run_id, "step_id": effect.step_id, "kind": DISPATCH,
                               "due_at": now, "key": f"{effect.idempotency_key}:try:{effect.try_number}",
                               "payload": dispatch_payload(effect)})
            case RunShadow():
                # A row like a dispatch's: claimed under a lease, so a crash neither loses it
                # nor (the result being applied under its key) doubles it.
                timers.append({"run_id": state.run_id, "step_id": effect.step_id, "kind": SHADOW, "due_at": now,
                               "key": effect.key, "payload": {
                                   "attempt": effect.attempt, "lease_seconds": effect.lease_seconds,
                                   "params": templates.shown(effect.params), MARKED_PARAMS: json.dumps(effect.params)}})
            case RecordCase():
                cases.append({
                    "key": f"{state.run_id}:{effect.step_id}:{effect.attempt}:{effect.source}",
                    "workflow_id": workflow.id, "run_id": state.run_id, "step_id": effect.step_id,
                    "attempt": effect.attempt, "source": effect.source, "inputs": effect.inputs,
                    "person": effect.person, "actor": effect.actor, "candidate": effect.candidate,
                    "candidate_status": effect.candidate_status, "candidate_error": effect.candidate_error,
                    "agreed": effect.agreed, "fields": effect.fields, "created_at": now,
                })
            case _:
                assert_never(effect)
    if cases:
        insert_or_ignore(conn, CASES, cases)
    if fired_timer is not None:
        conn.execute(_FIRE_TIMER, {"b_key": fired_timer, "b_now": now})
    if cleared:
        conn.execute(_CANCEL_TIMER, [{"b_key": key, "b_now": now} for key in cleared])
    insert_or_ignore(conn, TIMERS, timers)
    if outbox:
        conn.execute(_INSERT_OUTBOX, outbox)
    if audits:
        conn.execute(_INSERT_AUDIT, audits)
