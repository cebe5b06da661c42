"""Durable, exactly-once application of events to runs.

Each event is one transaction: claim the event's key (a unique row, so a redelivery or a
double click finds it taken and changes nothing), lock the run, advance it, and write the new
state with its step runs, timers, outbox messages and audit rows. Automations to run are
returned to the caller, to be started after the commit.

Events from people (Slack) and timer firings carry keys. An automation's result needs none:
the engine applies it only to the attempt and try it belongs to, so a repeat is refused.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import events as ev
from bot.engine import refusals
from bot.engine.effects import RunAutomation, SetTimer
from bot.engine.journal import (
    AUDIT,
    DISPATCH,
    RUNS,
    START_RUN,
    TIMERS,
    WORK_KINDS,
    current_phase,
    dispatch_params,
    write_effects,
    write_steps,
)
from bot.engine.machine import Accepted, Refused, advance, refuse, start_run
from bot.engine.permissions import Directory, prepare_directory
from bot.engine.shadow import shadow_row_key
from bot.engine.state import RunState, StepStatus
from bot.engine.versions import UnknownWorkflow, WorkflowVersions
from bot.observability.context import log_context
from bot.store.db import READ_ONLY
from bot.store.models import InboundEvent
from bot.store.upserts import insert_or_ignore

log = logging.getLogger("conductor.runs")
# The run row is locked for the transaction (FOR UPDATE on PostgreSQL; SQLite's write lock is
# already held from BEGIN IMMEDIATE), and saved only if nobody else saved it meanwhile.
_LOAD_RUN = (
    select(RUNS.c.state, RUNS.c.workflow_version_id, RUNS.c.channel, RUNS.c.lock_version, RUNS.c.updated_at)
    .where(RUNS.c.id == bindparam("b_id")).with_for_update()
)
_SAVE_RUN = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("b_id"), RUNS.c.lock_version == bindparam("b_version"))
    .values(state=bindparam("state"), status=bindparam("status"), phase=bindparam("phase"),
            updated_at=bindparam("updated_at"), finished_at=bindparam("finished_at"),
            lock_version=RUNS.c.lock_version + 1)
)

_RUN_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes: people type these


def new_run_id() -> str:
    return "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(8))


@dataclass
class Result:
    """What happened to one event."""

    status: str  # accepted, refused, duplicate
    run_id: str | None = None
    code: str | None = None
    reason: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    automations: list[RunAutomation] = field(default_factory=list)
    state: RunState | None = None
    timers: list[tuple[str, datetime]] = field(default_factory=list)  # (key, due at) set by this event
    refusal: refusals.Refusal | None = None  # why, when refused: `code` and `reason` come from it

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class ConductorService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        versions: WorkflowVersions,
        directory: Directory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        escalation_channel: str | None = None,
    ):
        self.sessions = sessions
        # Transitions use a Core connection: the ORM unit of work has nothing to track here.
        self.engine: Engine = sessions.kw["bind"]
        self.versions = versions
        self.directory = directory
        self.clock = clock
        self.escalation_channel = escalation_channel
        self.listeners: list[Callable[[Result], None]] = []

    # --- commands ----------------------------------------------------------------------------
    def start(
        self, workflow_id: str, actor: str | None, inputs: dict[str, Any], *, key: str | None = None,
        channel: str | None = None, now: datetime | None = None, run_id: str | None = None,
    ) -> Result:
        """Start a run of the current version of `workflow_id`."""
        now = now or self.clock()
        prepare_directory(self.directory)  # before the lock: inside it, people are read from memory
        with self.engine.begin() as conn:
            if key is not None and not self._claim(conn, key, "start"):
                return Result("duplicate", code="duplicate", reason="this request was already handled")
            try:
                version = self.versions.current(workflow_id)
            except UnknownWorkflow as exc:
                return _refused(None, refusals.UnknownWorkflow(workflow_id, str(exc)))
            run_id = run_id or new_run_id()
            outcome = start_run(version.workflow, run_id=run_id, version=version.version, actor=actor,
                                inputs=inputs, now=now, directory=self.directory)
            if isinstance(outcome, Refused):
                self._audit_refusal(conn, None, outcome, now)
                return _refused(None, outcome.refusal)
            state = outcome.state
            run_channel = version.workflow.channel or channel
            conn.execute(insert(RUNS).values(
                id=run_id, workflow_id=workflow_id, workflow_version_id=version.row_id,
                status=state.status.value, phase=current_phase(version.workflow, state), inputs=state.inputs,
                state=state.to_json(), started_by=actor, channel=run_channel,
                created_at=now, updated_at=now, finished_at=state.finished_at, lock_version=0,
            ))
            write_steps(conn, None, state, now)
            write_effects(conn, run_channel, version.workflow, state, outcome.effects, now,
                          fallback_escalation=self.escalation_channel)
            result = Result("accepted", run_id, automations=_automations(outcome), state=state, timers=_timers(outcome))
        log_milestones(None, state)  # committed: now it happened
        self._notify(result)
        return result

    def handle(self, run_id: str, event: ev.Event, *, key: str | None = None, now: datetime | None = None) -> Result:
        """Apply one event to a run, once."""
        now = now or self.clock()
        prepare_directory(self.directory)  # before the lock: inside it, people are read from memory
        with self.engine.begin() as conn:
            if key is not None and not self._claim(conn, key, type(event).__name__):
                return Result("duplicate", run_id, "duplicate", "this request was already handled")
            run = conn.execute(_LOAD_RUN, {"b_id": run_id}).one_or_none()
            if run is None:
                return _refused(run_id, refusals.UnknownRun(run_id))
            workflow = self.versions.by_row(conn, run.workflow_version_id).workflow
            before = RunState.from_json(run.state)
            outcome = advance(workflow, RunState.from_json(run.state), event, now, self.directory, owned=True)
            if isinstance(outcome, Refused):
                self._audit_refusal(conn, run_id, outcome, now)
                if isinstance(event, (ev.TimerFired, ev.ShadowFinished)):  # a row no longer wanted: retire it
                    write_effects(conn, run.channel, workflow, before, [], now, fired_timer=_fired_row(run_id, event))
                return _refused(run_id, outcome.refusal)
            after = outcome.state
            saved = conn.execute(_SAVE_RUN, {
                "b_id": run_id, "b_version": run.lock_version, "state": after.to_json(),
                "status": after.status.value, "phase": current_phase(workflow, after),
                # A shadow's result is beside the run: the run's own timing stays as it was.
                "updated_at": run.updated_at if isinstance(event, ev.ShadowFinished) else now,
                "finished_at": after.finished_at,
            })
            if saved.rowcount != 1:  # the row lock makes this unreachable; never write over a stranger
                raise RuntimeError(f"run {run_id} changed under us")
            write_steps(conn, before, after, now)
            write_effects(conn, run.channel, workflow, after, outcome.effects, now,
                          fired_timer=_fired_row(run_id, event),
                          fallback_escalation=self.escalation_channel)
            result = Result("accepted", run_id, automations=_automations(outcome), state=after, timers=_timers(outcome))
        log_milestones(before, after)  # committed: now it happened
        self._notify(result)
        return result

    def ask_for_help(self, run_id: str, step_id: str, actor: str, *, key: str | None = None,
                     now: datetime | None = None) -> Result:
        """Someone stuck on a step asks the workflow's conductor (or those who may take over)
        for help: a message in the run's thread, audited; the run itself does not change."""
        return self.handle(run_id, ev.AskForHelp(step_id, actor), key=key, now=now)

    # --- helpers -----------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Result], None]) -> None:
        """Call `listener` with every accepted result, after its transaction has committed."""
        self.listeners.append(listener)

    def _notify(self, result: Result) -> None:
        for listener in self.listeners:
            listener(result)

    def _claim(self, conn: Connection, key: str, source: str) -> bool:
        return insert_or_ignore(conn, InboundEvent, {"key": key, "source": source, "received_at": self.clock()}) == 1

    def record_refusal(self, actor: str, asked: str, reason: str, **details: str) -> None:
        """Audit a refusal of something the engine does not decide (reloading workflows,
        steering a stand-up's schedule) the way the engine audits its own."""
        refused = refuse(refusals.NotAllowedTo(asked, reason), actor, None, {"type": asked, **details})
        with self.engine.begin() as conn:
            self._audit_refusal(conn, None, refused, self.clock())

    def _audit_refusal(self, conn: Connection, run_id: str | None, outcome: Refused, now: datetime) -> None:
        conn.execute(insert(AUDIT), [
            {"run_id": run_id, "step_id": a.step_id, "actor": a.actor, "type": a.type, "payload": a.payload, "at": now}
            for a in outcome.effects
        ])

    def upcoming_timers(self, until: datetime, limit: int = 50_000) -> list[tuple[str, str, datetime]]:
        """(run id, key, due at) of live engine timers due by `until`: what a clock schedules."""
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            rows = conn.execute(
                select(TIMERS.c.run_id, TIMERS.c.key, TIMERS.c.due_at)
                .where(TIMERS.c.due_at <= until, TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None),
                       TIMERS.c.kind.notin_(WORK_KINDS))
                .order_by(TIMERS.c.due_at).limit(limit)
            ).all()
        return [(run_id, key, due_at) for run_id, key, due_at in rows]

    def fire_timer(self, run_id: str, key: str, now: datetime | None = None) -> Result:
        """Fire one timer; a second firing (another clock, a retry) is a duplicate."""
        return self.handle(run_id, ev.TimerFired(key), key=f"timer:{key}", now=now)

    def claim_dispatches(self, now: datetime, limit: int = 100) -> list[Dispatch]:
        """Take automations waiting to be run. Each is handed out once (the row is marked when
        claimed); one whose try is no longer current (it timed out, the run was cancelled)
        is dropped instead of run."""
        claimed: list[Dispatch] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(TIMERS.c.run_id, TIMERS.c.step_id, TIMERS.c.key, TIMERS.c.payload)
                .where(TIMERS.c.kind == DISPATCH, TIMERS.c.due_at <= now,
                       TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
                .order_by(TIMERS.c.due_at).limit(limit).with_for_update(skip_locked=True)
            ).all()
            for run_id, step_id, key, payload in rows:
                run = conn.execute(_LOAD_RUN, {"b_id": run_id}).one_or_none()
                state = RunState.from_json(run.state) if run is not None else None
                st = state.steps.get(step_id) if state is not None else None
                current = st is not None and st.status.value == "running" and st.tries == payload["try_number"] \
                    and st.attempt == payload["attempt"]
                column = "fired_at" if current else "cancelled_at"
                conn.execute(update(TIMERS).where(TIMERS.c.key == key).values({column: now}))
                if run is None or state is None or not current:
                    continue
                request = RunAutomation(step_id, payload["attempt"], payload["try_number"],
                                        payload["idempotency_key"], dispatch_params(payload))
                outputs = {sid: s.outputs for sid, s in state.steps.items() if s.outputs is not None}
                claimed.append(Dispatch(run_id, run.workflow_version_id, request, state.inputs, outputs))
        return claimed

    def start_pending_runs(self, now: datetime, limit: int = 100) -> list[Result]:
        """Start the runs other runs asked for. The start claims the row's key first, so a
        crash before the row is marked only makes the next attempt a duplicate."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TIMERS.c.key, TIMERS.c.payload)
                .where(TIMERS.c.kind == START_RUN, TIMERS.c.due_at <= now,
                       TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
                .order_by(TIMERS.c.due_at).limit(limit)
            ).all()
        results = []
        for key, payload in rows:
            results.append(self.start(payload["workflow_id"], None, payload["inputs"], key=f"start:{key}",
                                      channel=payload.get("channel"), now=now))
            with self.engine.begin() as conn:
                conn.execute(update(TIMERS).where(TIMERS.c.key == key).values(fired_at=now))
        return results

    def interrupted(self) -> list[tuple[str, str]]:
        """(run id, step id) of automations that were claimed but never finished: after a
        restart of the only clock, nothing is running them any more."""
        found: list[tuple[str, str]] = []
        with self.engine.connect() as conn:
            runs = conn.execute(select(RUNS.c.id, RUNS.c.state).where(RUNS.c.status == "running")).all()
            for run_id, raw in runs:
                for step_id, st in RunState.from_json(raw).steps.items():
                    if st.status.value != "running":
                        continue
                    fired = conn.execute(
                        select(TIMERS.c.fired_at).where(
                            TIMERS.c.key == f"{run_id}:{step_id}:{st.attempt}:try:{st.tries}")
                    ).scalar_one_or_none()
                    if fired is not None:
                        found.append((run_id, step_id))
        return found

    def recover_interrupted(self, now: datetime | None = None) -> list[Result]:
        """Re-run (idempotent) or hand to a person (the rest) every interrupted automation."""
        results = []
        for run_id, step_id in self.interrupted():
            results.append(self.handle(run_id, ev.Recover(step_id), now=now))
        return results


@dataclass(frozen=True)
class Dispatch:
    """An automation claimed for running."""

    run_id: str
    version_row_id: int
    request: RunAutomation
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # earlier steps' outputs


def log_milestones(before: RunState | None, after: RunState) -> None:
    """One INFO line for each thing an operator looks for: a run started, a run finished
    (completed, failed, cancelled), a step escalated to people. Called after the commit."""
    run_id, workflow_id = after.run_id, after.workflow_id
    with log_context(run_id=run_id):
        if before is None:
            log.info("run %s of %s started by %s", run_id, workflow_id, after.started_by or "the clock")
        for step_id, step in after.steps.items():
            was = before.steps.get(step_id) if before is not None else None
            if step.status is StepStatus.ESCALATED and (was is None or was.status is not StepStatus.ESCALATED):
                with log_context(run_id=run_id, step_id=step_id):
                    log.info("step %s of run %s escalated: %s", step_id, run_id, step.error or step.reason or "")
        if after.final and (before is None or not before.final):
            reason = f": {after.reason}" if after.reason else ""
            log.info("run %s of %s %s%s", run_id, workflow_id, after.status.value, reason)


def _fired_row(run_id: str, event: ev.Event) -> str | None:
    """The row an event retires: a fired timer's, or a shadow's once its result is in."""
    if isinstance(event, ev.TimerFired):
        return event.key
    if isinstance(event, ev.ShadowFinished):
        return shadow_row_key(run_id, event.step_id, event.attempt)
    return None


def _refused(run_id: str | None, refusal: refusals.Refusal) -> Result:
    return Result("refused", run_id, refusal.code, refusal.text, refusal.field_errors, refusal=refusal)


def _timers(outcome: Accepted) -> list[tuple[str, datetime]]:
    return [(effect.key, effect.due_at) for effect in outcome.effects if isinstance(effect, SetTimer)]


def _automations(outcome: Accepted) -> list[RunAutomation]:
    return [effect for effect in outcome.effects if isinstance(effect, RunAutomation)]
