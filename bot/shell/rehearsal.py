"""The conductor's side of a rehearsal: the same service, timers, automations and messenger as in
production, with time that moves only when told.

`settle()` does everything that is due *now* (timers, runs other runs asked for, automations,
messages to Slack) until nothing more is; `advance(to)` walks the clock forward from one due
moment to the next — every timer, retry and scheduled start in order — so a reminder two hours
away fires without anyone waiting two hours.

What is done at a moment is the real clock's tick (`bot.usecases.tick`); the rehearsal only
chooses the moment, runs the automations on the spot and delivers the messages in the tick.
After each tick it runs the shadow runs due, as the clock's poll does (`shadows`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.definitions.fields import FieldSpec
from bot.definitions.steps import AutomationStep
from bot.engine import events as ev
from bot.engine.service import ConductorService, Dispatch
from bot.engine.versions import WorkflowVersions
from bot.scheduling.clock import schedule_trigger, start_scheduled_run
from bot.scheduling.worker import AutomationWorker
from bot.shell.shadows import RehearsalShadows
from bot.slack.messenger import Messenger
from bot.store.models import Timer
from bot.usecases.tick import Ticker

log = logging.getLogger("conductor.shell")
TIMERS = Timer.__table__
MAX_ROUNDS = 10_000  # a workflow that loops forever at one instant is stopped, not followed


class VirtualClock:
    """The rehearsal's time: starts at `start`, moves only by `move_to`."""

    def __init__(self, start: datetime):
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment.astimezone(UTC))


@dataclass
class Failing:
    """`:fail <step>`: the step's next attempt fails on every try (or just one try with `once`)."""

    once: bool = False
    attempt: int | None = None  # the attempt being failed, once it has started


@dataclass
class Happening:
    """Something the conductor did on its own, for the shell to tell."""

    text: str


class RehearsalWorker(AutomationWorker):
    """Runs automations at once, on the caller's thread. Python and command steps run for real
    (they are local code). An `http:` step is not sent unless `live_http`: its request would
    leave this machine, so its outputs are made up from the step's declared outputs instead."""

    def __init__(self, service: ConductorService, versions: WorkflowVersions, workflows_dir: str, *,
                 live_http: bool, tell: Callable[[str], None]):
        super().__init__(service, versions, workflows_dir, max_workers=1)
        self.live_http = live_http
        self.tell = tell
        self.failing: dict[str, Failing] = {}

    def run(self, dispatch: Dispatch) -> None:
        request = dispatch.request
        plan = self.failing.get(request.step_id)
        if plan is not None and plan.attempt in (None, request.attempt):
            plan.attempt = request.attempt
            if plan.once:
                del self.failing[request.step_id]
            self.tell(f"{request.step_id}: try {request.try_number} fails, as asked (:fail)")
            self.service.handle(dispatch.run_id, ev.AutomationFailed(
                request.step_id, request.attempt, request.try_number, "failed on purpose in rehearsal (:fail)",
                retryable=True))
            return
        if plan is not None:  # a new attempt (after a retry by a person): the failure is over
            del self.failing[request.step_id]
        step = self._step(dispatch)
        if step is not None and step.http is not None and not self.live_http:
            outputs = invented_outputs(step.outputs, dispatch.run_id, request.step_id, self.service.clock().date())
            self.tell(f"{request.step_id}: {step.http.method} {step.http.url} not sent in rehearsal; "
                      f"made-up outputs {outputs}")
            self.service.handle(dispatch.run_id, ev.AutomationSucceeded(
                request.step_id, request.attempt, request.try_number, outputs))
            return
        self.tell(f"{request.step_id}: runs (try {request.try_number})")
        super().run(dispatch)

    def _step(self, dispatch: Dispatch) -> AutomationStep | None:
        with self.service.engine.connect() as conn:
            step = self.versions.by_row(conn, dispatch.version_row_id).workflow.step(dispatch.request.step_id)
        return step if isinstance(step, AutomationStep) else None


def invented_outputs(fields: dict[str, FieldSpec], run_id: str, step_id: str, today: date) -> dict[str, Any]:
    """Plausible outputs of the declared types for a step that was not really called (`today`:
    the rehearsal's day, not the wall clock's)."""
    made: dict[str, Any] = {}
    for name, spec in fields.items():
        kind = spec.type
        if kind == "url":
            made[name] = f"https://rehearsal.invalid/{run_id}/{step_id}/{name}"
        elif kind in ("integer", "number"):
            made[name] = int(spec.min) if spec.min is not None else 1
        elif kind == "boolean":
            made[name] = True
        elif kind == "enum":
            made[name] = (spec.options or [""])[0]
        elif kind == "list":
            made[name] = []
        elif kind == "date":
            made[name] = today.isoformat()
        elif kind in ("string", "text"):
            made[name] = f"{name} (rehearsal)"
    return made


@dataclass
class Rehearsal:
    service: ConductorService
    versions: WorkflowVersions
    worker: RehearsalWorker
    messenger: Messenger
    clock: VirtualClock
    app_idle: Callable[[], None]  # waits until the app has finished what it was asked
    shadows: RehearsalShadows | None = None  # shadow runs, run after each tick as the clock does
    _scheduled_fired: set[tuple[str, int, datetime]] = field(default_factory=set)
    ticker: Ticker = field(init=False)

    def __post_init__(self) -> None:
        # The clock's tick, with automations run on this thread (so what they cause is part of
        # the same moment) and every message delivered before time moves on.
        self.ticker = Ticker(self.service, run=self.worker.run, deliver=self.messenger.deliver_due)

    def settle(self) -> None:
        """Do everything due now, until nothing more is: what one tick does may make more due
        at the same moment (an automation done starts the next step, which posts)."""
        for _ in range(MAX_ROUNDS):
            self.app_idle()
            if self.shadows is not None:
                self.shadows.tell_compared()  # before what follows: a person's answer may have compared
            moved = self.ticker.tick(self.clock()).moved
            if self.shadows is not None:
                moved += self.shadows.run_due()  # as the clock's poll does after its tick
            if not moved:
                return
        log.warning("stopped settling after %d rounds: something loops without waiting", MAX_ROUNDS)

    def advance(self, target: datetime, after_each: Callable[[], None] = lambda: None) -> int:
        """Move to `target`, stopping at every moment something falls due (`after_each` is
        called there, to show what happened when it happened). Returns how many such moments
        there were."""
        stops = 0
        self.settle()
        while True:
            upcoming = [m for m in (self._next_timer(), self._next_schedule(target)) if m is not None and m <= target]
            if not upcoming:
                break
            moment = min(upcoming)
            self.clock.move_to(moment)
            self._start_scheduled(moment)
            self.settle()
            after_each()
            stops += 1
        self.clock.move_to(target)
        self.settle()
        return stops

    # --- what falls due --------------------------------------------------------------------
    def _next_timer(self) -> datetime | None:
        with self.service.engine.connect() as conn:
            due = conn.execute(select(func.min(TIMERS.c.due_at)).where(
                TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))).scalar_one_or_none()
        if isinstance(due, str):
            due = datetime.fromisoformat(due)
        if due is None:
            return None
        due = due if due.tzinfo else due.replace(tzinfo=UTC)
        return max(due, self.clock())

    def _schedules(self):
        for workflow_id in self.versions.workflow_ids():
            workflow = self.versions.current(workflow_id).workflow
            for index, entry in enumerate(workflow.on.schedule):
                yield workflow_id, index, schedule_trigger(entry.cron, entry.timezone or workflow.timezone)

    def _next_schedule(self, until: datetime) -> datetime | None:
        found = []
        for workflow_id, index, trigger in self._schedules():
            moment = trigger.get_next_fire_time(None, self.clock())
            while moment is not None and (workflow_id, index, moment) in self._scheduled_fired and moment <= until:
                moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
            if moment is not None:
                found.append(moment.astimezone(UTC))
        return min(found) if found else None

    def _start_scheduled(self, moment: datetime) -> None:
        for workflow_id, index, trigger in self._schedules():
            due = trigger.get_next_fire_time(None, moment)
            if due is None or due.astimezone(UTC) != moment or (workflow_id, index, moment) in self._scheduled_fired:
                continue
            self._scheduled_fired.add((workflow_id, index, moment))
            cron = self.versions.current(workflow_id).workflow.on.schedule[index].cron
            started = start_scheduled_run(self.service, self.versions, workflow_id, index, moment)
            self.worker.tell(f"scheduled run of {workflow_id} ({cron}) "
                             + ("started" if started is not None else "not started: the schedule is paused or skipped"))
