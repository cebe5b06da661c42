"""Reading the recorded history: runs, their step runs, and the audit rows and timers that say
how each step went. Plain rows, read with a few set-based queries (no ORM identity).

Read for speed: times come back as Unix seconds computed by the database, and JSON as its
text, parsed only when asked for (an automation's outputs are never read)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, Engine, Float, String, Table, and_, case, func, select, type_coerce
from sqlalchemy import cast as sql_cast

from bot.store.db import READ_ONLY
from bot.store.models import AuditEvent, Run, StepRun, Timer

RUNS = cast(Table, Run.__table__)
STEP_RUNS = cast(Table, StepRun.__table__)
AUDIT = cast(Table, AuditEvent.__table__)
TIMERS = cast(Table, Timer.__table__)

# The audit rows that tell how a step went (written by the engine on each transition).
AUDIT_TYPES = ("automation_failed", "escalated", "taken_over", "help_requested", "rejected", "review_confirmed",
               "review_corrected")
# Timers whose wait is waiting on time rather than on people or code.
TIME_KINDS = ("retry", "scheduled_start", "wait")
CONDITION_SKIP = "its condition did not hold"  # the reason a step skipped by its `if` carries

Event = tuple[str, float, str | None]  # (type, at in epoch seconds, error)


def epoch_of(engine: Engine) -> Any:
    """A SQL expression of a timestamp column as Unix seconds, computed by the database."""
    if engine.dialect.name == "sqlite":
        return lambda column: (func.julianday(column) - 2440587.5) * 86400.0
    return lambda column: sql_cast(func.extract("epoch", column), Float)


@dataclass(slots=True)
class Attempt:
    step_id: str
    attempt: int
    status: str
    raw_outputs: Any
    reached: bool  # really started (not skipped by its condition)
    started_at: float | None  # Unix seconds, like every time here
    finished_at: float | None
    events: list[Event] = field(default_factory=list)
    timers: list[tuple[str, float | None, float]] = field(default_factory=list)  # (kind, due, fired)

    @property
    def outputs(self) -> dict[str, Any] | None:
        if isinstance(self.raw_outputs, str | bytes):
            self.raw_outputs = json.loads(self.raw_outputs)
        return cast(dict[str, Any] | None, self.raw_outputs)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(slots=True)
class RunRecord:
    id: str
    workflow_id: str
    version_row: int
    status: str
    raw_inputs: Any
    created_at: float
    finished_at: float | None
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)  # step id -> attempts in order

    @property
    def inputs(self) -> dict[str, Any]:
        if isinstance(self.raw_inputs, str | bytes):
            self.raw_inputs = json.loads(self.raw_inputs)
        return cast(dict[str, Any], self.raw_inputs or {})


def load_runs(engine: Engine, since: datetime, until: datetime, workflow_id: str | None,
              route_steps: Collection[str] = ()) -> list[RunRecord]:
    """Runs started in [since, until], with every step attempt and its events, oldest first.
    For `route_steps` (gates a person decides) the route each attempt took is an event too."""
    raw = engine.dialect.name == "sqlite"
    epoch = epoch_of(engine)

    def text(column: Column[Any]) -> Any:  # JSON as its text, parsed here when it is read
        return type_coerce(column, String) if raw else sql_cast(column, String)

    window = and_(RUNS.c.created_at >= since, RUNS.c.created_at <= until)
    if workflow_id is not None:
        window = and_(window, RUNS.c.workflow_id == workflow_id)
    runs: dict[str, RunRecord] = {}
    # Reads only: on SQLite no write lock (a report never holds up the bot, nor waits on it);
    # one snapshot for every query (REPEATABLE READ on PostgreSQL), so the rows agree.
    options: dict[str, Any] = dict(READ_ONLY)
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.execution_options(**options).connect() as conn:
        for rid, wid, version, status, inputs, created, finished in conn.execute(
            select(RUNS.c.id, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.status, text(RUNS.c.inputs),
                   epoch(RUNS.c.created_at), epoch(RUNS.c.finished_at)).where(window)
            .order_by(RUNS.c.created_at, RUNS.c.id)
        ).all():
            runs[rid] = RunRecord(rid, wid, version, status, inputs, created, finished)
        if not runs:
            return []
        joined = STEP_RUNS.join(RUNS, STEP_RUNS.c.run_id == RUNS.c.id)
        by_condition = case((and_(STEP_RUNS.c.status == "skipped", STEP_RUNS.c.error == CONDITION_SKIP), 1), else_=0)
        for rid, sid, number, status, outputs, unreached, started, finished in conn.execute(
            select(STEP_RUNS.c.run_id, STEP_RUNS.c.step_id, STEP_RUNS.c.attempt, STEP_RUNS.c.status,
                   text(STEP_RUNS.c.outputs), by_condition, epoch(STEP_RUNS.c.started_at),
                   epoch(STEP_RUNS.c.finished_at)).select_from(joined).where(window)
            .order_by(STEP_RUNS.c.run_id, STEP_RUNS.c.step_id, STEP_RUNS.c.attempt)
        ).all():
            record = runs.get(rid)
            if record is not None:
                record.attempts.setdefault(sid, []).append(
                    Attempt(sid, number, status, outputs, not unreached, started, finished))
        events: dict[tuple[str, str], list[Event]] = defaultdict(list)
        audit_join = AUDIT.join(RUNS, AUDIT.c.run_id == RUNS.c.id)
        for rid, sid, kind, error, at in conn.execute(
            select(AUDIT.c.run_id, AUDIT.c.step_id, AUDIT.c.type, AUDIT.c.payload["error"].as_string(),
                   epoch(AUDIT.c.at)).select_from(audit_join)
            .where(window, AUDIT.c.type.in_(AUDIT_TYPES), AUDIT.c.at >= since).order_by(AUDIT.c.id)
        ).all():
            events[(rid, sid or "")].append((kind, at, error))
        # Reassignments are accepted events of type Reassign (their audit row carries the event).
        for rid, sid, at in conn.execute(
            select(AUDIT.c.run_id, AUDIT.c.step_id, epoch(AUDIT.c.at)).select_from(audit_join)
            .where(window, AUDIT.c.type == "accepted", AUDIT.c.at >= since,
                   AUDIT.c.payload["type"].as_string() == "Reassign").order_by(AUDIT.c.id)
        ).all():
            events[(rid, sid or "")].append(("reassigned", at, None))
        if route_steps:
            for rid, sid, at, route in conn.execute(
                select(AUDIT.c.run_id, AUDIT.c.step_id, epoch(AUDIT.c.at), AUDIT.c.payload["route"].as_string())
                .select_from(audit_join)
                .where(window, AUDIT.c.type == "step_completed", AUDIT.c.at >= since,
                       AUDIT.c.step_id.in_(sorted(route_steps))).order_by(AUDIT.c.id)
            ).all():
                events[(rid, sid or "")].append(("route", at, route))
        timers: dict[tuple[str, str, int], list[tuple[str, float | None, float]]] = defaultdict(list)
        timer_join = TIMERS.join(RUNS, TIMERS.c.run_id == RUNS.c.id)
        for rid, sid, kind, key, due, fired in conn.execute(
            select(TIMERS.c.run_id, TIMERS.c.step_id, TIMERS.c.kind, TIMERS.c.key, epoch(TIMERS.c.due_at),
                   epoch(TIMERS.c.fired_at)).select_from(timer_join)
            .where(window, TIMERS.c.kind.in_(TIME_KINDS), TIMERS.c.fired_at.is_not(None))
        ).all():
            number = _attempt_of_key(key)
            if number is not None and fired is not None:
                timers[(rid, sid or "", number)].append((kind, due, fired))
    # Step runs came in attempt order; events and timers go to the attempts they belong to.
    for (rid, sid), found in events.items():
        attempts = runs[rid].attempts.get(sid) if rid in runs else None
        if attempts:
            _share_events(attempts, found)
    for (rid, sid, number), kept in timers.items():
        for attempt in runs[rid].attempts.get(sid, []) if rid in runs else []:
            if attempt.attempt == number:
                attempt.timers = sorted(kept, key=lambda t: t[2])
    return list(runs.values())


def _attempt_of_key(key: str) -> int | None:
    # Engine timer keys are "<run>:<step>:<attempt>:<kind>:<suffix>".
    parts = key.rsplit(":", 4)
    try:
        return int(parts[-3]) if len(parts) == 5 else None
    except ValueError:
        return None


def _share_events(attempts: list[Attempt], events: list[Event]) -> None:
    """Give each event to the attempt it happened in: the latest one started by then."""
    if len(attempts) == 1:
        attempts[0].events = events
        return
    for event in events:
        owner = attempts[0]
        for attempt in attempts:
            if attempt.started_at is not None and attempt.started_at <= event[1]:
                owner = attempt
        owner.events.append(event)
