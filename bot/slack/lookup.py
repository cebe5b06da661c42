"""Finding what a click or a reply is about: the run, its workflow version and the step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.definitions.workflow import Workflow
from bot.engine.state import RunState
from bot.runtime import Runtime
from bot.store.models import Run


@dataclass(frozen=True)
class StepContext:
    run_id: str
    workflow: Workflow
    state: RunState
    step: Any  # one of the step models
    channel: str | None
    thread_ts: str | None


def step_context(runtime: Runtime, run_id: str | None, step_id: str | None) -> StepContext | None:
    if not run_id:
        return None
    with runtime.sessions() as session:
        run = session.get(Run, run_id)
        if run is None:
            return None
        workflow = runtime.versions.by_row(session, run.workflow_version_id).workflow
    state = RunState.from_json(run.state)
    step = workflow.step(step_id) if step_id and step_id in state.steps else None
    return StepContext(run.id, workflow, state, step, run.channel, run.thread_ts)


def run_by_thread(runtime: Runtime, channel: str, thread_ts: str) -> str | None:
    with runtime.sessions() as session:
        return session.execute(
            select(Run.id).where(Run.channel == channel, Run.thread_ts == thread_ts)
        ).scalar_one_or_none()
