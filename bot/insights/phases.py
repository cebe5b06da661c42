"""Where the time of a phase goes: waiting on a person, on code, or on time (timers).

Each attempt of a step is split: a person step's whole wait is a person's (its role); an
automation's time is code's, but for the part spent waiting for a timer (a retry's backoff, a
scheduled start, `conductor/wait`) which is time's, and the part after it was escalated until
someone acted, which is a person's (whoever takes over)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.definitions.steps import AutomationStep
from bot.definitions.workflow import Workflow
from bot.insights.figures import role_of
from bot.insights.load import Attempt, RunRecord
from bot.insights.stats import distribution

WAITS = ("person", "code", "time")


@dataclass
class PhaseFacts:
    phase: str
    runs: int
    role_seconds: dict[tuple[str, str], float] = field(default_factory=dict)  # (wait, role) -> total
    longest: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (wait, role) -> runs it led
    by_step: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)  # (wait, role) -> step -> total


def _waiter(step: Any) -> tuple[str, str] | None:
    """What a step that is not an automation waits on, all its time: a person (their role),
    or code for a gate that routes by itself."""
    if isinstance(step, AutomationStep):
        return None
    role = role_of(step)
    return ("code", "code") if role == "code" else ("person", role)


def split_automation(step: AutomationStep, attempt: Attempt, total: float) -> list[tuple[tuple[str, str], float]]:
    """Seconds of one finished automation attempt by (what it waited on, who)."""
    if not attempt.events and not attempt.timers:
        return [(CODE, total)]
    timed = 0.0
    failures = sorted(e[1] for e in attempt.events if e[0] == "automation_failed")
    finished = attempt.finished_at or 0.0
    for kind, _due, fired in attempt.timers:
        if kind == "retry":
            before = [at for at in failures if at <= fired]
            began = before[-1] if before else attempt.started_at
        else:
            began = attempt.started_at
        if began is not None:
            timed += max(0.0, min(fired, finished) - began)
    escalated = [e[1] for e in attempt.events if e[0] == "escalated"]
    person = max(0.0, finished - escalated[0]) if escalated else 0.0
    timed = min(timed, total)
    person = min(person, total - timed)
    found = [(CODE, total - timed - person)]
    if timed:
        found.append((("time", "timers"), timed))
    if person:
        found.append((("person", step.escalate_to or "whoever takes over"), person))
    return found


CODE = ("code", "code")


def phase_figures(workflow: Workflow, records: list[RunRecord]) -> tuple[list[dict[str, Any]], list[PhaseFacts]]:
    phases = workflow.phases or ["(all)"]
    phase_of: dict[str, str] = {s.id: (workflow.phase_of(s.id) or phases[0]) if workflow.phases else phases[0]
                                for s in workflow.steps}
    steps = {s.id: s for s in workflow.steps}
    waiters = {s.id: _waiter(s) for s in workflow.steps}
    cycles: dict[str, list[float]] = defaultdict(list)
    facts = {p: PhaseFacts(p, 0) for p in phases}
    by_step: dict[tuple[str, tuple[str, str]], float] = {}  # (step, (wait, role)) -> seconds, all runs
    for record in records:
        spans: dict[str, list[float]] = {}
        per_phase: dict[str, dict[tuple[str, str], float]] = {}
        for step_id, attempts in record.attempts.items():
            phase = phase_of.get(step_id)
            if phase is None:
                continue
            waiter = waiters[step_id]
            span = spans.get(phase)
            waits = per_phase.get(phase)
            if waits is None:
                waits = per_phase[phase] = {}
            for attempt in attempts:
                started, finished = attempt.started_at, attempt.finished_at
                if started is None or finished is None or finished < started or not attempt.reached:
                    continue
                if span is None:
                    span = spans[phase] = [started, finished]
                else:
                    if started < span[0]:
                        span[0] = started
                    if finished > span[1]:
                        span[1] = finished
                if waiter is not None:
                    waits[waiter] = waits.get(waiter, 0.0) + finished - started
                    own = (step_id, waiter)
                    by_step[own] = by_step.get(own, 0.0) + finished - started
                else:
                    automation = steps[step_id]
                    assert isinstance(automation, AutomationStep)
                    for key, seconds in split_automation(automation, attempt, finished - started):
                        waits[key] = waits.get(key, 0.0) + seconds
                        by_step[(step_id, key)] = by_step.get((step_id, key), 0.0) + seconds
        for phase, (first, last) in spans.items():
            cycles[phase].append(last - first)
            fact = facts[phase]
            fact.runs += 1
            waits = per_phase[phase]
            if waits:
                top = max(waits, key=waits.__getitem__)
                fact.longest.setdefault(top, []).append(record.id)
    for (step_id, key), seconds in by_step.items():
        fact = facts[phase_of[step_id]]
        fact.role_seconds[key] = fact.role_seconds.get(key, 0.0) + seconds
        fact.by_step.setdefault(key, {})[step_id] = seconds
    figures = []
    for phase in phases:
        fact = facts[phase]
        by_wait = dict.fromkeys(WAITS, 0.0)
        for (wait, _), seconds in fact.role_seconds.items():
            by_wait[wait] += seconds
        total = sum(by_wait.values())
        roles = sorted(fact.role_seconds.items(), key=lambda item: -item[1])
        figures.append({
            "phase": phase, "runs": fact.runs,
            "cycle_seconds": distribution(cycles[phase]),
            "waiting_seconds": {w: round(by_wait[w] / fact.runs, 3) if fact.runs else 0.0 for w in WAITS},
            "waiting_share": {w: round(by_wait[w] / total, 4) if total else 0.0 for w in WAITS},
            "roles": [{"wait": w, "role": r, "mean_seconds": round(s / fact.runs, 3)} for (w, r), s in roles],
            "bottleneck": ({"wait": roles[0][0][0], "role": roles[0][0][1]} if roles else None),
        })
    return figures, [facts[p] for p in phases]
