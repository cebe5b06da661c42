"""What people may look at: the workflows they can start, active runs, the board, what waits
on them, one run's steps, the App Home, and what a click or a form is about.

Reads go through this door like changes do, so who may see what is decided in one place:
people see the runs they take part in (`bot.engine.visibility`), admins see everything, and
everyone else is told how many other runs there are, nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.definitions.workflow import Workflow
from bot.engine.permissions import prepare_directory
from bot.engine.queries import (
    AttentionItem,
    RunSummary,
    RunView,
    WaitingItem,
    active_runs,
    board,
    needing_attention,
    summarize,
    view_of,
    waiting_on,
)
from bot.engine.state import RunState
from bot.engine.visibility import may_handle_escalations, may_see
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
class VisibleRuns:
    """The active runs a person may see, and how many others there are (a count, nothing
    more: their inputs and who started them are not the person's to see)."""

    runs: list[RunSummary]
    hidden: int = 0


@dataclass(frozen=True)
class Board:
    columns: dict[str, dict[str, list[RunSummary]]]  # workflow -> phase -> runs
    hidden: int = 0


@dataclass(frozen=True)
class Home:
    waiting: list[WaitingItem]
    board: dict[str, dict[str, list[RunSummary]]]
    attention: list[AttentionItem]
    hidden: int = 0


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

    def active_runs(self, actor: str) -> VisibleRuns:
        with self.reading() as session:
            runs, hidden = self._visible(session, actor)
            return VisibleRuns([summarize(session, self.versions, run) for run in runs], hidden)

    def board(self, actor: str, workflow_id: str | None = None) -> Board:
        """The active runs `actor` may see, by workflow and phase."""
        with self.reading() as session:
            runs, hidden = self._visible(session, actor, workflow_id)
            return Board(board(session, self.versions, runs), hidden)

    def mine(self, actor: str) -> list[WaitingItem]:
        self._prepare()
        with self.reading() as session:
            return waiting_on(session, self.versions, self.service.directory, actor)

    def run_status(self, actor: str, run_id: str) -> RunStatus | Refused:
        """One run's steps; a run the person may not see is answered as one that does not
        exist, so run ids cannot be probed."""
        self._prepare()
        with self.reading() as session:
            run = session.get(Run, plain_id(run_id) or "")
            workflow = self.versions.by_row(session, run.workflow_version_id).workflow if run is not None else None
            state = RunState.from_json(run.state) if run is not None else None
            if run is not None and workflow is not None and state is not None and self._may_see(workflow, state, actor):
                steps = tuple((workflow.step(s).title, st.status.value) for s, st in state.steps.items())
                return RunStatus(summarize(session, self.versions, view_of(run)), steps)
        # Audited like any refusal (after the read is closed: the audit row is a write), so ids
        # tried one after another show up there.
        return self.refuse(actor, "Status", f"there is no run `{run_id}` that you take part in",
                           run_id=plain_id(run_id) or "(not an id)")

    def home(self, actor: str) -> Home:
        board = self.board(actor)
        with self.reading() as session:
            waiting = waiting_on(session, self.versions, self.service.directory, actor)
            attention = [item for item in needing_attention(session, self.versions)
                         if self._may_handle(session, item.run_id, actor)]
        return Home(waiting, board.columns, attention, board.hidden)

    # --- who may see what (`bot.engine.visibility`) -------------------------------------------
    def _prepare(self) -> None:
        prepare_directory(self.service.directory)  # reads outside a transition see fresh people too

    def _may_see(self, workflow: Workflow, state: RunState, actor: str) -> bool:
        return actor in self._admins() or may_see(workflow, state, actor, self.service.directory)

    def _visible(self, session: Any, actor: str, workflow_id: str | None = None) -> tuple[list[RunView], int]:
        """The active runs `actor` may see, and how many others there are."""
        self._prepare()
        active = active_runs(session, workflow_id)
        shown = [run for run in active if self._may_see(
            self.versions.by_row(session, run.workflow_version_id).workflow, run.state, actor)]
        return shown, len(active) - len(shown)

    def _may_handle(self, session: Any, run_id: str, actor: str) -> bool:
        """Whether an escalation's error (or a failed run's reason) may be shown to `actor`."""
        if actor in self._admins():
            return True
        run = session.get(Run, run_id)
        if run is None:
            return False
        workflow = self.versions.by_row(session, run.workflow_version_id).workflow
        return may_handle_escalations(workflow, RunState.from_json(run.state), actor, self.service.directory)

    def step(self, run_id: Any, step_id: Any) -> StepContext | None:
        """What a click or a form names: its run and step (None: no such run)."""
        run_id, step_id = plain_id(run_id), plain_id(step_id)
        if not run_id:
            return None
        with self.reading() as session:
            run = session.get(Run, run_id)
            if run is None:
                return None
            workflow = self.versions.by_row(session, run.workflow_version_id).workflow
        state = RunState.from_json(run.state)
        step = workflow.step(step_id) if step_id and step_id in state.steps else None
        return StepContext(run.id, workflow, state, step, run.channel, run.thread_ts)

