"""The read side: a run's timeline, the board of runs by phase, what waits on a person, and
what needs attention. The Slack layer renders these; nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.permissions import Directory, is_member
from bot.engine.state import RunState, StepStatus
from bot.engine.versions import WorkflowVersions
from bot.store.models import AuditEvent, Run

ACTIVE_RUN_STATUSES = ("running", "waiting")


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


def active_runs(session: Session, workflow_id: str | None = None) -> list[Run]:
    query = select(Run).where(Run.status.in_(ACTIVE_RUN_STATUSES)).order_by(Run.created_at)
    if workflow_id is not None:
        query = query.where(Run.workflow_id == workflow_id)
    return list(session.execute(query).scalars())


def summarize(session: Session, versions: WorkflowVersions, run: Run) -> RunSummary:
    workflow = versions.by_row(session, run.workflow_version_id).workflow
    state = RunState.from_json(run.state)
    waiting = tuple(workflow.step(s).title for s, st in state.steps.items() if st.active)
    return RunSummary(run.id, run.workflow_id, workflow.title, run.status, run.phase, run.started_by, run.updated_at, waiting)


def board(session: Session, versions: WorkflowVersions, runs: Iterable[Run]) -> dict[str, dict[str, list[RunSummary]]]:
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
        state = RunState.from_json(run.state)
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
        state = RunState.from_json(run.state)
        for step_id, st in state.steps.items():
            if st.status == StepStatus.ESCALATED:
                items.append(AttentionItem(run.id, run.workflow_id, step_id, workflow.step(step_id).title, st.error, st.status.value))
    failed = session.execute(
        select(Run).where(Run.status == "failed").order_by(Run.updated_at.desc()).limit(failed_limit)
    ).scalars()
    for run in failed:
        state = RunState.from_json(run.state)
        items.append(AttentionItem(run.id, run.workflow_id, None, run.workflow_id, state.reason, "failed"))
    return items
