"""A test harness around the real service and a real database: time is virtual, and
automations are answered by the test (the runners themselves are tested on their own)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.definitions.loader import load_paths
from bot.engine import events as ev
from bot.engine.effects import RunAutomation
from bot.engine.permissions import StaticDirectory
from bot.engine.service import ConductorService, Result
from bot.engine.versions import WorkflowVersions
from bot.store.db import make_engine, make_session_factory, session_scope

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday

# Slack user groups used by the example workflows.
GROUPS = {
    "S01WRITERS": ["U02WRITER"],
    "S02SUCCESS": ["U04LEAD"],
    "S03SALES": ["U06SALES"],
    "S04COPY": ["U11COPY"],
    "S05DESIGN": ["U12DESIGN"],
    "S06SOCIAL": ["U13SOCIAL"],
    "S07TEAM": ["U20ANA", "U21BEN"],
}

Automation = Callable[[RunAutomation], dict[str, Any] | Exception]


class Harness:
    def __init__(self, url: str, workflows: list[str] | None = None):
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self.versions = WorkflowVersions()
        self.load(workflows or ["workflows"])
        self.now = START
        self.directory = StaticDirectory(GROUPS)
        self.service = ConductorService(self.sessions, self.versions, self.directory, clock=lambda: self.now)
        self.automations: dict[str, Automation] = {}
        self.keys = 0

    def load(self, paths: list[str]) -> None:
        catalog = load_paths(paths)
        assert catalog.ok, [p.format() for p in catalog.errors]
        with session_scope(self.sessions) as session:
            self.versions.register(session, catalog)

    def close(self) -> None:
        self.engine.dispose()

    def _key(self) -> str:
        self.keys += 1
        return f"test:{self.keys}"

    def _collect(self, result: Result) -> Result:
        return result

    def start(self, workflow_id: str, actor: str | None, **inputs: Any) -> Result:
        return self._collect(self.service.start(workflow_id, actor, inputs, key=self._key(), channel="C0TEST"))

    def send(self, run_id: str, event: ev.Event) -> Result:
        return self._collect(self.service.handle(run_id, event, key=self._key()))

    def run_automations(self) -> None:
        """Answer every automation the engine asked for (and those that follow), in order,
        claiming them as the clock does."""
        while True:
            started = self.service.start_pending_runs(self.now)
            claimed = self.service.claim_dispatches(self.now)
            if not claimed and not started:
                return
            for dispatch in claimed:
                self._answer(dispatch.run_id, dispatch.request)

    def _answer(self, run_id: str, request: RunAutomation) -> None:
        behaviour = self.automations.get(request.step_id, lambda r: {})
        outcome = behaviour(request)
        if isinstance(outcome, Exception):
            event: ev.Event = ev.AutomationFailed(request.step_id, request.attempt, request.try_number, str(outcome),
                                                  retryable=getattr(outcome, "retryable", True))
        else:
            event = ev.AutomationSucceeded(request.step_id, request.attempt, request.try_number, outcome)
        self.send(run_id, event)

    def wait(self, delta: timedelta) -> list[Result]:
        """Move the clock, firing timers as they fall due (in order), with automations run."""
        end = self.now + delta
        fired: list[Result] = []
        while True:
            self.run_automations()
            due = self.service.upcoming_timers(end, limit=1)
            if not due:
                break
            self.now = max(self.now, due[0][2])
            fired.extend(self._collect(r) for r in self.fire_due(self.now))
        self.now = end
        self.run_automations()
        return fired

    def fire_due(self, now: datetime) -> list[Result]:
        """Fire every timer due by `now`, each at most once (whoever else is firing)."""
        return [self.service.fire_timer(run_id, key, now) for run_id, key, _ in self.service.upcoming_timers(now)]

    def state(self, run_id: str):
        from bot.engine.state import RunState
        from bot.store.models import Run

        with self.sessions() as session:
            return RunState.from_json(session.get_one(Run, run_id).state)

    def count(self, sql: str, **params: Any) -> int:
        with self.sessions() as session:
            return session.execute(text(sql), params).scalar_one()


def fails(message: str, retryable: bool = True) -> Exception:
    error = RuntimeError(message)
    error.retryable = retryable  # type: ignore[attr-defined]
    return error

