"""The rows a history is made of, read in one snapshot: runs started since a moment (with the
workflow version each ran on), their audit rows, the asks the engine posted (outbox rows of the
kinds that ask a person) and the automation tries the clock claimed (dispatch rows it fired)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from bot.definitions.values import parse_duration
from bot.definitions.workflow import Workflow
from bot.engine.journal import DISPATCH
from bot.engine.state import RunState
from bot.engine.versions import WorkflowVersions
from bot.store.db import READ_ONLY
from bot.store.models import AuditEvent, OutboxMessage, Run, Timer, WorkflowVersion

RUNS = cast(Table, Run.__table__)
AUDIT = cast(Table, AuditEvent.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
TIMERS = cast(Table, Timer.__table__)
VERSIONS = cast(Table, WorkflowVersion.__table__)

# Outbox kinds by which the engine asks a person (bot.engine.messages).
ASK_KINDS = ("ask", "approval_request", "decision_request", "standup_prompt")


@dataclass(frozen=True)
class RunRecord:
    id: str
    workflow: Workflow
    workflow_id: str
    version: str  # the SHA-256 of the YAML the run began on
    status: str
    started_by: str | None
    started_at: datetime
    finished_at: datetime | None
    inputs: dict[str, Any]
    state: RunState

    @property
    def version_id(self) -> str:
        """The workflow version as an object: `workflow@first 12 hex digits`."""
        return f"{self.workflow_id}@{self.version[:12]}"


@dataclass(frozen=True)
class AuditRecord:
    id: int
    run_id: str
    step_id: str | None
    actor: str | None
    type: str
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class AskRecord:
    id: int
    run_id: str
    step_id: str | None
    kind: str
    to: tuple[str, ...]
    reassigned_by: str | None
    at: datetime


@dataclass(frozen=True)
class TryRecord:
    id: int
    run_id: str
    step_id: str
    attempt: int
    try_number: int
    at: datetime


@dataclass
class History:
    runs: dict[str, RunRecord] = field(default_factory=dict)
    audits: list[AuditRecord] = field(default_factory=list)
    asks: list[AskRecord] = field(default_factory=list)
    tries: list[TryRecord] = field(default_factory=list)


def cutoff(now: datetime, since: str | timedelta) -> datetime:
    """`now` less `since` (`30d`, `2w`, `12h`)."""
    return now - parse_duration(since)


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session over one read-only connection: one snapshot, no write lock taken."""
    with engine.connect() as conn:
        conn = conn.execution_options(**READ_ONLY)
        with Session(bind=conn) as session:
            yield session


def load(engine: Engine, *, since: datetime, workflow_id: str | None = None) -> History:
    """Runs started at or after `since` (of one workflow, or all), with what happened in them."""
    versions = WorkflowVersions()
    history = History()
    with reading(engine) as session:
        query = (select(RUNS, VERSIONS.c.version.label("version_sha"))
                 .join(VERSIONS, VERSIONS.c.id == RUNS.c.workflow_version_id)
                 .where(RUNS.c.created_at >= since).order_by(RUNS.c.created_at, RUNS.c.id))
        if workflow_id is not None:
            query = query.where(RUNS.c.workflow_id == workflow_id)
        for row in session.execute(query).mappings():
            state = RunState.from_json(row["state"])
            history.runs[row["id"]] = RunRecord(
                id=row["id"], workflow=versions.by_row(session, row["workflow_version_id"]).workflow,
                workflow_id=row["workflow_id"], version=row["version_sha"], status=row["status"],
                started_by=row["started_by"], started_at=state.started_at, finished_at=row["finished_at"],
                inputs=dict(row["inputs"] or {}), state=state,
            )
        ids = list(history.runs)
        for chunk in _chunks(ids):
            history.audits += [
                AuditRecord(r.id, r.run_id, r.step_id, r.actor, r.type, dict(r.payload or {}), r.at)
                for r in session.execute(select(AUDIT).where(AUDIT.c.run_id.in_(chunk)))
            ]
            for r in session.execute(select(OUTBOX).where(OUTBOX.c.run_id.in_(chunk), OUTBOX.c.kind.in_(("post", "dm")))):
                payload = dict(r.payload or {})
                if payload.get("kind") in ASK_KINDS:
                    data = payload.get("data") or {}
                    history.asks.append(AskRecord(
                        r.id, r.run_id, payload.get("step_id"), payload["kind"], tuple(payload.get("to") or ()),
                        data.get("reassigned_by"), r.created_at))
            history.tries += [
                TryRecord(r.id, r.run_id, r.step_id, int(r.payload.get("attempt", 0)), int(r.payload.get("try_number", 0)),
                          r.fired_at)
                for r in session.execute(select(TIMERS).where(
                    TIMERS.c.run_id.in_(chunk), TIMERS.c.kind == DISPATCH, TIMERS.c.fired_at.is_not(None)))
            ]
    history.audits.sort(key=lambda a: a.id)
    history.asks.sort(key=lambda a: a.id)
    history.tries.sort(key=lambda t: t.id)
    return history


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
