"""Durable, exactly-once application of events to runs.

Each event is one transaction: claim the event's key (a unique row, so a redelivery or a
double click finds it taken and changes nothing), lock the run, advance it, and write the new
state with its step runs, timers, outbox messages and audit rows. Automations to run are
returned to the caller, to be started after the commit.

Events from people (Slack) and timer firings carry keys. An automation's result needs none:
the engine applies it only to the attempt and try it belongs to, so a repeat is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import events as ev
from bot.engine.effects import RunAutomation
from bot.engine.journal import current_phase, write_effects, write_steps
from bot.engine.machine import Accepted, Refused, advance, start_run
from bot.engine.permissions import Directory
from bot.engine.state import RunState
from bot.engine.versions import UnknownWorkflow, WorkflowVersions
from bot.store.models import AuditEvent, InboundEvent, Run, Timer
from bot.store.upserts import insert_or_ignore

RUNS = Run.__table__
# The run row is locked for the transaction (FOR UPDATE on PostgreSQL; SQLite's write lock is
# already held from BEGIN IMMEDIATE), and saved only if nobody else saved it meanwhile.
_LOAD_RUN = (
    select(RUNS.c.state, RUNS.c.workflow_version_id, RUNS.c.channel, RUNS.c.lock_version)
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

    # --- commands ----------------------------------------------------------------------------
    def start(
        self, workflow_id: str, actor: str | None, inputs: dict[str, Any], *, key: str | None = None,
        channel: str | None = None, now: datetime | None = None, run_id: str | None = None,
    ) -> Result:
        """Start a run of the current version of `workflow_id`."""
        now = now or self.clock()
        with self.engine.begin() as conn:
            if key is not None and not self._claim(conn, key, "start"):
                return Result("duplicate", code="duplicate", reason="this request was already handled")
            try:
                version = self.versions.current(workflow_id)
            except UnknownWorkflow as exc:
                return Result("refused", code="unknown_workflow", reason=str(exc))
            run_id = run_id or new_run_id()
            outcome = start_run(version.workflow, run_id=run_id, version=version.version, actor=actor,
                                inputs=inputs, now=now, directory=self.directory)
            if isinstance(outcome, Refused):
                self._audit_refusal(conn, None, outcome, now)
                return Result("refused", None, outcome.code, outcome.reason, outcome.field_errors)
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
            return Result("accepted", run_id, automations=_automations(outcome), state=state)

    def handle(self, run_id: str, event: ev.Event, *, key: str | None = None, now: datetime | None = None) -> Result:
        """Apply one event to a run, once."""
        now = now or self.clock()
        with self.engine.begin() as conn:
            if key is not None and not self._claim(conn, key, type(event).__name__):
                return Result("duplicate", run_id, "duplicate", "this request was already handled")
            run = conn.execute(_LOAD_RUN, {"b_id": run_id}).one_or_none()
            if run is None:
                return Result("refused", run_id, "unknown_run", f"there is no run `{run_id}`")
            workflow = self.versions.by_row(conn, run.workflow_version_id).workflow
            before = RunState.from_json(run.state)
            outcome = advance(workflow, RunState.from_json(run.state), event, now, self.directory, owned=True)
            if isinstance(outcome, Refused):
                self._audit_refusal(conn, run_id, outcome, now)
                if isinstance(event, ev.TimerFired):  # a timer the run no longer wants: retire it
                    write_effects(conn, run.channel, workflow, before, [], now, fired_timer=event.key)
                return Result("refused", run_id, outcome.code, outcome.reason, outcome.field_errors)
            after = outcome.state
            saved = conn.execute(_SAVE_RUN, {
                "b_id": run_id, "b_version": run.lock_version, "state": after.to_json(),
                "status": after.status.value, "phase": current_phase(workflow, after), "updated_at": now,
                "finished_at": after.finished_at,
            })
            if saved.rowcount != 1:  # the row lock makes this unreachable; never write over a stranger
                raise RuntimeError(f"run {run_id} changed under us")
            write_steps(conn, before, after, now)
            write_effects(conn, run.channel, workflow, after, outcome.effects, now,
                          fired_timer=event.key if isinstance(event, ev.TimerFired) else None,
                          fallback_escalation=self.escalation_channel)
            return Result("accepted", run_id, automations=_automations(outcome), state=after)

    # --- helpers -----------------------------------------------------------------------------
    def _claim(self, conn: Connection, key: str, source: str) -> bool:
        return insert_or_ignore(conn, InboundEvent, {"key": key, "source": source, "received_at": self.clock()}) == 1

    def _audit_refusal(self, conn: Connection, run_id: str | None, outcome: Refused, now: datetime) -> None:
        conn.execute(insert(AuditEvent.__table__), [
            {"run_id": run_id, "step_id": a.step_id, "actor": a.actor, "type": a.type, "payload": a.payload, "at": now}  # type: ignore[union-attr]
            for a in outcome.effects
        ])

    def due_timers(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(run id, timer key) of live timers due by `now`, soonest first."""
        with self.sessions() as session:
            rows = session.execute(
                select(Timer.run_id, Timer.key)
                .where(Timer.due_at <= now, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
                .order_by(Timer.due_at).limit(limit)
            ).all()
        return [(run_id, key) for run_id, key in rows]

    def fire_due_timers(self, now: datetime) -> list[Result]:
        """Fire every timer due by `now` (each at most once, whoever else is firing)."""
        return [self.handle(run_id, ev.TimerFired(key), key=f"timer:{key}", now=now) for run_id, key in self.due_timers(now)]


def _automations(outcome: Accepted) -> list[RunAutomation]:
    return [effect for effect in outcome.effects if isinstance(effect, RunAutomation)]
