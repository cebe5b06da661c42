"""What people may look at: the workflows they can start, active runs, the board, what waits
on them, one run's steps, the App Home, and what a click or a form is about.

Reads go through this door like changes do, so who may see what is decided in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.definitions.workflow import Workflow
from bot.engine.queries import (
    AttentionItem,
    RunSummary,
    WaitingItem,
    board,
    needing_attention,
    summarize,
    waiting_on,
)
from bot.engine.state import RunState
from bot.store.models import Run
from bot.usecases.base import Base
from bot.usecases.results import Refused

MAX_ID = 200  # run and step ids are short; anything longer is not one of ours


@dataclass(frozen=True)
class StepContext:
    """A run, its workflow version and one of its steps (None when the id names none)."""

    run_id: str
    workflow: Workflow
    state: RunState
    step: Any
    channel: str | None
    thread_ts: str | None


@dataclass(frozen=True)
class RunStatus:
    summary: RunSummary
    steps: tuple[tuple[str, str], ...]  # (title, status) in the workflow's order


@dataclass(frozen=True)
class Home:
    waiting: list[WaitingItem]
    board: dict[str, dict[str, list[RunSummary]]]
    attention: list[AttentionItem]


def plain_id(value: Any) -> str | None:
    """`value` when it can be one of our ids (a short string), else None: ids come from
    payloads a person could have tampered with, and only strings may reach a query."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


class ReadCases(Base):
    def startable(self) -> list[tuple[str, str, list[str]]]:
        """(id, title, input names) of the workflows people start by command."""
        items = []
        for workflow_id in self.versions.workflow_ids():
            workflow = self.versions.current(workflow_id).workflow
            if workflow.on.command:
                items.append((workflow_id, workflow.title, list(workflow.inputs)))
        return items

    def active_runs(self, actor: str) -> list[RunSummary]:
        with self.sessions() as session:
            return [summarize(session, self.versions, run) for run in _active(session)]

    def board(self, actor: str, workflow_id: str | None = None) -> dict[str, dict[str, list[RunSummary]]]:
        with self.sessions() as session:
            return board(session, self.versions, workflow_id)

    def mine(self, actor: str) -> list[WaitingItem]:
        with self.sessions() as session:
            return waiting_on(session, self.versions, self.service.directory, actor)

    def run_status(self, actor: str, run_id: str) -> RunStatus | Refused:
        with self.sessions() as session:
            run = session.get(Run, plain_id(run_id) or "")
            if run is None:
                return Refused(f"there is no run `{run_id}`", "unknown_run")
            workflow = self.versions.by_row(session, run.workflow_version_id).workflow
            state = RunState.from_json(run.state)
            steps = tuple((workflow.step(s).title, st.status.value) for s, st in state.steps.items())
            return RunStatus(summarize(session, self.versions, run), steps)

    def home(self, actor: str) -> Home:
        with self.sessions() as session:
            return Home(waiting_on(session, self.versions, self.service.directory, actor),
                        board(session, self.versions), needing_attention(session, self.versions))

    def step(self, run_id: Any, step_id: Any) -> StepContext | None:
        """What a click or a form names: its run and step (None: no such run)."""
        run_id, step_id = plain_id(run_id), plain_id(step_id)
        if not run_id:
            return None
        with self.sessions() as session:
            run = session.get(Run, run_id)
            if run is None:
                return None
            workflow = self.versions.by_row(session, run.workflow_version_id).workflow
        state = RunState.from_json(run.state)
        step = workflow.step(step_id) if step_id and step_id in state.steps else None
        return StepContext(run.id, workflow, state, step, run.channel, run.thread_ts)


def _active(session: Any) -> list[Run]:
    return list(session.execute(select(Run).where(Run.status.in_(("running", "waiting")))
                                .order_by(Run.created_at)).scalars())
