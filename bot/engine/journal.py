"""Writing an accepted transition to the database: run, step runs, timers, outbox, audit.

Everything here runs inside the caller's transaction, so a state change and the messages,
timers and audit rows it causes are committed together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from bot.definitions.workflow import Workflow
from bot.engine.effects import Audit, ClearTimer, Effect, Message, SetTimer, UpdateHeader
from bot.engine.state import RunState, StepState
from bot.store.models import AuditEvent, OutboxMessage, Run, StepRun, Timer

# Core tables: these writes are the hot path of every transition and need no ORM identity.
STEP_RUNS = StepRun.__table__
TIMERS = Timer.__table__
OUTBOX = OutboxMessage.__table__
AUDIT = AuditEvent.__table__
from bot.store.upserts import insert_or_ignore


def current_phase(workflow: Workflow, state: RunState) -> str | None:
    """The phase of the first step in progress, else of the last step that finished."""
    if not workflow.phases:
        return None
    for step in workflow.steps:
        if state.steps[step.id].active:
            return workflow.phase_of(step.id)
    finished = [s for s in workflow.steps if state.steps[s.id].finished_at is not None]
    if finished:
        latest = max(finished, key=lambda s: state.steps[s.id].finished_at)  # type: ignore[arg-type, return-value]
        return workflow.phase_of(latest.id)
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


def write_steps(session: Session, before: RunState | None, after: RunState, now: datetime) -> None:
    for step_id, st in after.steps.items():
        if st.attempt == 0 or not _changed(before.steps.get(step_id) if before else None, st):
            continue
        row = _step_row(after.run_id, step_id, st, now)
        c = STEP_RUNS.c
        result = session.execute(
            update(STEP_RUNS)
            .where(c.run_id == after.run_id, c.step_id == step_id, c.attempt == st.attempt)
            .values(**{k: v for k, v in row.items() if k not in ("run_id", "step_id", "attempt")})
        )
        if not result.rowcount:
            session.execute(insert(STEP_RUNS).values(**row))


def message_channel(message: Message, run: Run, workflow: Workflow, fallback_escalation: str | None) -> str:
    match message.destination:
        case "thread":
            return run.channel or ""
        case "escalation":
            return workflow.escalation_channel or fallback_escalation or run.channel or ""
        case "dm":
            return message.to[0]
        case "channel":
            return str(message.data.get("channel") or run.channel or "")
    raise AssertionError(message.destination)


def write_effects(
    session: Session, run: Run, workflow: Workflow, state: RunState, effects: list[Effect], now: datetime,
    *, fired_timer: str | None = None, fallback_escalation: str | None = None,
) -> None:
    """Timers, outbox rows and audit rows for one transition."""
    timers: list[dict[str, Any]] = []
    cleared: list[str] = []
    outbox: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for n, effect in enumerate(effects):
        dedupe = f"{state.run_id}:{state.seq}:{n}"
        match effect:
            case SetTimer():
                timers.append({"run_id": state.run_id, "step_id": effect.step_id, "kind": effect.kind,
                               "due_at": effect.due_at, "payload": effect.data, "key": effect.key})
            case ClearTimer():
                cleared.append(effect.key)
            case Message():
                channel = message_channel(effect, run, workflow, fallback_escalation)
                outbox.append({
                    "run_id": state.run_id, "channel": channel,
                    "thread_key": state.run_id if effect.destination == "thread" else None,
                    "kind": "dm" if effect.destination == "dm" else "post",
                    "payload": {"kind": effect.kind, "run_id": state.run_id, "workflow_id": workflow.id,
                                "step_id": effect.step_id, "to": list(effect.to), "text": effect.text,
                                "data": effect.data},
                    "dedupe_key": dedupe, "next_attempt_at": now, "created_at": now,
                })
            case UpdateHeader():
                outbox.append({
                    "run_id": state.run_id, "channel": run.channel or "", "thread_key": state.run_id,
                    "kind": "update", "payload": {"kind": "header", "run_id": state.run_id, "workflow_id": workflow.id},
                    "dedupe_key": dedupe, "next_attempt_at": now, "created_at": now,
                })
            case Audit():
                audits.append({"run_id": state.run_id, "step_id": effect.step_id, "actor": effect.actor,
                               "type": effect.type, "payload": effect.payload, "at": now})
            case _:
                pass  # RunAutomation: handed to the caller, who runs it after the commit
    t = TIMERS.c
    if fired_timer is not None:
        session.execute(update(TIMERS).where(t.key == fired_timer).values(fired_at=now))
    if cleared:
        session.execute(
            update(TIMERS).where(t.key.in_(cleared), t.fired_at.is_(None), t.cancelled_at.is_(None))
            .values(cancelled_at=now)
        )
    insert_or_ignore(session, TIMERS, timers)
    if outbox:
        session.execute(insert(OUTBOX), outbox)
    if audits:
        session.execute(insert(AUDIT), audits)
