"""The read side: a run's timeline, the board of runs by phase, what waits on a person, and
what needs attention. The Slack layer renders these; nothing here writes.

Every read of the active runs parses each run's state, and `/conductor runs`, `mine`, the
board and the App Home all read every active run. Parsed states are kept by (run, version):
a run's state changes only with its `lock_version`, so a kept state is never stale, and a
read of hundreds of runs decodes only those that moved since the last read. Kept states are
shared between readers: nothing on the read side changes a state it is given."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from bot.engine.permissions import Directory, is_member
from bot.engine.state import RunState, StepStatus
from bot.engine.versions import WorkflowVersions
from bot.store.models import AuditEvent, Run

ACTIVE_RUN_STATUSES = ("running", "waiting")
RUNS: Table = Run.__table__  # type: ignore[assignment]
KEPT_STATES = 20_000  # parsed states kept (a few KB each): far more than a team's active runs


@dataclass(frozen=True)
class RunView:
    """A run as the read side needs it, its state parsed."""

    id: str
    workflow_id: str
    workflow_version_id: int
    status: str
    phase: str | None
    started_by: str | None
    updated_at: datetime
    state: RunState


class _KeptStates:
    """Parsed run states by (run id, lock_version), the least recently read dropped first."""

    def __init__(self, size: int):
        self.size = size
        self._states: OrderedDict[tuple[str, int], RunState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> RunState | None:
        with self._lock:
            state = self._states.get(key)
            if state is not None:
                self._states.move_to_end(key)
            return state

    def put(self, key: tuple[str, int], state: RunState) -> None:
        with self._lock:
            self._states[key] = state
            while len(self._states) > self.size:
                self._states.popitem(last=False)


_KEPT = _KeptStates(KEPT_STATES)


def view_of(run: Run) -> RunView:
    """The view of one run read as a row."""
    return RunView(run.id, run.workflow_id, run.workflow_version_id, run.status, run.phase, run.started_by,
                   run.updated_at, keep_state(run.id, run.lock_version, run.state))


def kept_state(run_id: str, version: int) -> RunState | None:
    """The parsed state of a run at `version` (its `lock_version`), when one is kept."""
    return _KEPT.get((run_id, version))


def keep_state(run_id: str, version: int, raw: dict[str, Any]) -> RunState:
    """The state of a run at `version`, parsed from `raw` only when none is kept."""
    state = _KEPT.get((run_id, version))
    if state is None:
        state = RunState.from_json(raw)
        _KEPT.put((run_id, version), state)
    return state



@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    type: str
    actor: str | None
    step_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    workflow_id: str
    title: str
    status: str
    phase: str | None
    started_by: str | None
    updated_at: datetime
    waiting_on: tuple[str, ...]  # titles of steps in progress


@dataclass(frozen=True)
class WaitingItem:
    run_id: str
    workflow_id: str
    step_id: str
    title: str
    kind: str  # task, approval, gate, standup
    since: datetime | None
    overdue: bool


@dataclass(frozen=True)
class AttentionItem:
    run_id: str
    workflow_id: str
    step_id: str | None
    title: str
    error: str | None
    status: str


def timeline(session: Session, run_id: str) -> list[TimelineEntry]:
    rows = session.execute(select(AuditEvent).where(AuditEvent.run_id == run_id).order_by(AuditEvent.id)).scalars()
    return [TimelineEntry(r.at, r.type, r.actor, r.step_id, r.payload) for r in rows]


def active_runs(session: Session, workflow_id: str | None = None) -> list[RunView]:
    """The active runs, oldest first. Their rows are read without their states first; only the
    states not kept already are read and parsed."""
    query = (select(RUNS.c.id, RUNS.c.lock_version, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.status,
                    RUNS.c.phase, RUNS.c.started_by, RUNS.c.updated_at)
             .where(RUNS.c.status.in_(ACTIVE_RUN_STATUSES)).order_by(RUNS.c.created_at))
    if workflow_id is not None:
        query = query.where(RUNS.c.workflow_id == workflow_id)
    rows = session.execute(query).all()
    states = {row.id: _KEPT.get((row.id, row.lock_version)) for row in rows}
    missing = [run_id for run_id, state in states.items() if state is None]
    for start in range(0, len(missing), 500):
        for run_id, version, raw in session.execute(select(RUNS.c.id, RUNS.c.lock_version, RUNS.c.state)
                                                    .where(RUNS.c.id.in_(missing[start:start + 500]))):
            states[run_id] = keep_state(run_id, version, raw)
    return [RunView(row.id, row.workflow_id, row.workflow_version_id, row.status, row.phase, row.started_by,
                    row.updated_at, state) for row in rows if (state := states.get(row.id)) is not None]


def summarize(session: Session, versions: WorkflowVersions, run: RunView) -> RunSummary:
    workflow = versions.by_row(session, run.workflow_version_id).workflow
    state = run.state
    waiting = tuple(workflow.step(s).title for s, st in state.steps.items() if st.active)
    return RunSummary(run.id, run.workflow_id, workflow.title, run.status, run.phase, run.started_by, run.updated_at, waiting)


def board(session: Session, versions: WorkflowVersions, runs: Iterable[RunView]) -> dict[str, dict[str, list[RunSummary]]]:
    """`runs` per workflow, per phase (phases in the workflow's order; no phase: "")."""
    result: dict[str, dict[str, list[RunSummary]]] = {}
    for run in runs:
        workflow = versions.by_row(session, run.workflow_version_id).workflow
        columns = result.setdefault(run.workflow_id, {phase: [] for phase in workflow.phases} or {"": []})
        columns.setdefault(run.phase or "", []).append(summarize(session, versions, run))
    return result


def waiting_on(session: Session, versions: WorkflowVersions, directory: Directory, user: str) -> list[WaitingItem]:
    """Steps of active runs that `user` can act on now, oldest first."""
    items: list[WaitingItem] = []
    for run in active_runs(session):
        workflow = versions.by_row(session, run.workflow_version_id).workflow
        state = run.state
        for step_id, st in state.steps.items():
            if st.status != StepStatus.WAITING_ON_PERSON or not is_member(user, st.assignees, directory):
                continue
            if user in st.answers or user in st.approvals:
                continue  # already done their part
            step = workflow.step(step_id)
            items.append(WaitingItem(run.id, run.workflow_id, step_id, step.title, step.kind, st.started_at, st.overdue))
    return sorted(items, key=lambda item: (not item.overdue, item.since.timestamp() if item.since else float("inf")))


def needing_attention(session: Session, versions: WorkflowVersions, *, failed_limit: int = 20) -> list[AttentionItem]:
    """Escalated steps of active runs, then the most recently failed runs."""
    items: list[AttentionItem] = []
    for run in active_runs(session):
        workflow = versions.by_row(session, run.workflow_version_id).workflow
        state = run.state
        for step_id, st in state.steps.items():
            if st.status == StepStatus.ESCALATED:
                items.append(AttentionItem(run.id, run.workflow_id, step_id, workflow.step(step_id).title, st.error, st.status.value))
    failed = session.execute(
        select(Run).where(Run.status == "failed").order_by(Run.updated_at.desc()).limit(failed_limit)
    ).scalars()
    for row in failed:
        reason = view_of(row).state.reason
        items.append(AttentionItem(row.id, row.workflow_id, None, row.workflow_id, reason, "failed"))
    return items
