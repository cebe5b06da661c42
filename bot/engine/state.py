"""The live state of a run: plain data that round-trips through JSON.

The definition (frozen, from YAML) says what a run may do; this says what it has done so far.
The engine never mutates a state it was given: `advance` works on a copy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "running"  # code is working on it
    WAITING = "waiting"  # on people or on time
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class StepStatus(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    WAITING_ON_PERSON = "waiting_on_person"
    RUNNING = "running"
    RETRY_WAIT = "retry_wait"
    ESCALATED = "escalated"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STEP_STATUSES = frozenset(
    {StepStatus.SCHEDULED, StepStatus.WAITING_ON_PERSON, StepStatus.RUNNING, StepStatus.RETRY_WAIT, StepStatus.ESCALATED}
)
FINISHED_STEP_STATUSES = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass
class StepState:
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0  # how many times the step was started (loops start it again)
    tries: int = 0  # automation tries within this attempt
    assignees: list[str] = field(default_factory=list)  # principals who may act: user/group IDs, "*"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    route: str | None = None  # the gate's chosen target
    actor: str | None = None  # who finished it
    reason: str | None = None  # why it was rejected, skipped or failed
    approvals: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # stand-up: user -> answers
    closes: dict[str, str] = field(default_factory=dict)  # stand-up: user -> their window's close (ISO)
    late: list[str] = field(default_factory=list)  # stand-up: who answered after their window
    away: list[str] = field(default_factory=list)  # stand-up: who was away that day
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # stand-up: answers so far, by DM
    overdue: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value, "attempt": self.attempt, "tries": self.tries,
            "assignees": list(self.assignees), "outputs": copy.deepcopy(self.outputs), "error": self.error,
            "route": self.route, "actor": self.actor, "reason": self.reason, "approvals": list(self.approvals),
            "answers": copy.deepcopy(self.answers), "closes": dict(self.closes), "late": list(self.late), "away": list(self.away),
            "drafts": copy.deepcopy(self.drafts),
            "overdue": self.overdue,
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
        }

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STEP_STATUSES

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STEP_STATUSES


@dataclass
class TimerState:
    key: str
    kind: str  # reminder, deadline, retry, timeout, scheduled_start, close
    step_id: str | None
    due_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "step_id": self.step_id,
                "due_at": self.due_at.isoformat(), "data": copy.deepcopy(self.data)}


@dataclass
class RunState:
    run_id: str
    workflow_id: str
    version: str
    started_by: str | None
    started_at: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    steps: dict[str, StepState] = field(default_factory=dict)
    timers: dict[str, TimerState] = field(default_factory=dict)
    finished_at: datetime | None = None
    reason: str | None = None  # why it failed or was cancelled
    seq: int = 0  # accepted events so far
    # Shadow runs not compared yet, by "<step>:<attempt>" (written only when there are some).
    shadows: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL_RUN_STATUSES

    def clone(self) -> RunState:
        return RunState.from_json(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 text). Written out by hand: this runs on
        every transition, and `dataclasses.asdict` costs several times more."""
        shadows = {"shadows": copy.deepcopy(self.shadows)} if self.shadows else {}
        return {
            **shadows,
            "run_id": self.run_id, "workflow_id": self.workflow_id, "version": self.version,
            "started_by": self.started_by, "started_at": self.started_at.isoformat(),
            "inputs": copy.deepcopy(self.inputs), "status": self.status.value,
            "steps": {step_id: st.to_json() for step_id, st in self.steps.items()},
            "timers": {key: t.to_json() for key, t in self.timers.items()},
            "finished_at": _iso(self.finished_at), "reason": self.reason, "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        steps = {
            step_id: StepState(
                **{**raw, "status": StepStatus(raw["status"]), "started_at": _dt(raw.get("started_at")), "finished_at": _dt(raw.get("finished_at"))}
            )
            for step_id, raw in data.get("steps", {}).items()
        }
        timers = {key: TimerState(**{**raw, "due_at": _dt(raw["due_at"])}) for key, raw in data.get("timers", {}).items()}
        return cls(
            **{
                **data,
                "status": RunStatus(data["status"]),
                "started_at": _dt(data["started_at"]),
                "finished_at": _dt(data.get("finished_at")),
                "steps": steps,
                "timers": timers,
            }
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
