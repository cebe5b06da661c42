"""Reading the recorded history: runs, their step runs, and the audit rows and timers that say
how each step went. Plain rows, read with a few set-based queries (no ORM identity)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, select

from bot.store.models import AuditEvent, Run, StepRun, Timer, UTCDateTime

RUNS = cast(Table, Run.__table__)
STEP_RUNS = cast(Table, StepRun.__table__)
AUDIT = cast(Table, AuditEvent.__table__)
TIMERS = cast(Table, Timer.__table__)

# The audit rows that tell how a step went (written by the engine on each transition).
AUDIT_TYPES = ("automation_failed", "escalated", "taken_over", "help_requested", "rejected")
# Timers whose wait is waiting on time rather than on people or code.
TIME_KINDS = ("retry", "scheduled_start", "wait")
CONDITION_SKIP = "its condition did not hold"  # the reason a step skipped by its `if` carries

_UTC = UTCDateTime()


@dataclass
class Attempt:
    step_id: str
    attempt: int
    status: str
    assignee: str | None
    outputs: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)  # (type, at, payload)
    timers: list[tuple[str, datetime | None, datetime]] = field(default_factory=list)  # (kind, due, fired)

    @property
    def reached(self) -> bool:
        """Whether the step was really started (not skipped by its condition)."""
        return not (self.status == "skipped" and self.error == CONDITION_SKIP)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass
class RunRecord:
    id: str
    workflow_id: str
    version_row: int
    status: str
    inputs: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)  # step id -> attempts in order


def _aware(value: Any) -> datetime | None:
    # Core selects of joined columns go through the column's type; a raw value is made aware.
    if value is None or isinstance(value, datetime):
        return _UTC.process_result_value(value, None)  # type: ignore[arg-type]
    return _UTC.process_result_value(datetime.fromisoformat(str(value)), None)  # type: ignore[arg-type]


def load_runs(engine: Engine, since: datetime, until: datetime, workflow_id: str | None) -> list[RunRecord]:
    """Runs started in [since, until], with every step attempt and its events, oldest first."""
    window = and_(RUNS.c.created_at >= since, RUNS.c.created_at <= until)
    if workflow_id is not None:
        window = and_(window, RUNS.c.workflow_id == workflow_id)
    runs: dict[str, RunRecord] = {}
    with engine.connect() as conn:
        for row in conn.execute(
            select(RUNS.c.id, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.status, RUNS.c.inputs,
                   RUNS.c.created_at, RUNS.c.finished_at).where(window).order_by(RUNS.c.created_at, RUNS.c.id)
        ):
            runs[row.id] = RunRecord(row.id, row.workflow_id, row.workflow_version_id, row.status,
                                     row.inputs or {}, _aware(row.created_at) or since, _aware(row.finished_at))
        if not runs:
            return []
        joined = STEP_RUNS.join(RUNS, STEP_RUNS.c.run_id == RUNS.c.id)
        for row in conn.execute(
            select(STEP_RUNS.c.run_id, STEP_RUNS.c.step_id, STEP_RUNS.c.attempt, STEP_RUNS.c.status,
                   STEP_RUNS.c.assignee, STEP_RUNS.c.outputs, STEP_RUNS.c.error, STEP_RUNS.c.started_at,
                   STEP_RUNS.c.finished_at).select_from(joined).where(window)
            .order_by(STEP_RUNS.c.run_id, STEP_RUNS.c.step_id, STEP_RUNS.c.attempt)
        ):
            record = runs.get(row.run_id)
            if record is not None:
                record.attempts.setdefault(row.step_id, []).append(Attempt(
                    row.step_id, row.attempt, row.status, row.assignee, row.outputs, row.error,
                    _aware(row.started_at), _aware(row.finished_at)))
        events: dict[tuple[str, str], list[tuple[str, datetime, dict[str, Any]]]] = defaultdict(list)
        audit_join = AUDIT.join(RUNS, AUDIT.c.run_id == RUNS.c.id)
        for row in conn.execute(
            select(AUDIT.c.run_id, AUDIT.c.step_id, AUDIT.c.type, AUDIT.c.payload, AUDIT.c.at)
            .select_from(audit_join).where(window, AUDIT.c.type.in_(AUDIT_TYPES), AUDIT.c.at >= since)
            .order_by(AUDIT.c.id)
        ):
            events[(row.run_id, row.step_id or "")].append((row.type, _aware(row.at) or since, row.payload or {}))
        # Reassignments are accepted events of type Reassign (their audit row carries the event).
        for row in conn.execute(
            select(AUDIT.c.run_id, AUDIT.c.step_id, AUDIT.c.at).select_from(audit_join)
            .where(window, AUDIT.c.type == "accepted", AUDIT.c.at >= since,
                   AUDIT.c.payload["type"].as_string() == "Reassign")
            .order_by(AUDIT.c.id)
        ):
            events[(row.run_id, row.step_id or "")].append(("reassigned", _aware(row.at) or since, {}))
        timers: dict[tuple[str, str, int], list[tuple[str, datetime | None, datetime]]] = defaultdict(list)
        timer_join = TIMERS.join(RUNS, TIMERS.c.run_id == RUNS.c.id)
        for row in conn.execute(
            select(TIMERS.c.run_id, TIMERS.c.step_id, TIMERS.c.kind, TIMERS.c.key, TIMERS.c.due_at, TIMERS.c.fired_at)
            .select_from(timer_join).where(window, TIMERS.c.kind.in_(TIME_KINDS), TIMERS.c.fired_at.is_not(None))
        ):
            attempt = _attempt_of_key(row.key)
            fired = _aware(row.fired_at)
            if attempt is not None and fired is not None:
                timers[(row.run_id, row.step_id or "", attempt)].append((row.kind, _aware(row.due_at), fired))
    for record in runs.values():
        for step_id, attempts in record.attempts.items():
            _share_events(attempts, events.get((record.id, step_id), []))
            for attempt in attempts:
                attempt.timers = sorted(timers.get((record.id, step_id, attempt.attempt), []), key=lambda t: t[2])
    return list(runs.values())


def _attempt_of_key(key: str) -> int | None:
    # Engine timer keys are "<run>:<step>:<attempt>:<kind>:<suffix>".
    parts = key.rsplit(":", 4)
    try:
        return int(parts[-3]) if len(parts) == 5 else None
    except ValueError:
        return None


def _share_events(attempts: list[Attempt], events: list[tuple[str, datetime, dict[str, Any]]]) -> None:
    """Give each event to the attempt it happened in: the latest one started by then."""
    for event in events:
        owner = attempts[0]
        for attempt in attempts:
            if attempt.started_at is not None and attempt.started_at <= event[1]:
                owner = attempt
        owner.events.append(event)
