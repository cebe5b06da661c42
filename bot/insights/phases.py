"""Where the time of a phase goes: waiting on a person, on code, or on time (timers).

Each attempt of a step is split: a person step's whole wait is a person's (its role); an
automation's time is code's, but for the part spent waiting for a timer (a retry's backoff, a
scheduled start, `conductor/wait`) which is time's, and the part after it was escalated until
someone acted, which is a person's (whoever takes over)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
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


def split_attempt(step: Any, attempt: Attempt) -> dict[tuple[str, str], float]:
    """Seconds of one finished attempt by (what it waited on, who)."""
    total = attempt.seconds
    if total is None or total < 0:
        return {}
    if not isinstance(step, AutomationStep):
        return {("person", role_of(step)): total} if step.family != "gate" or role_of(step) != "code" else {
            ("code", "code"): total}
    timed = 0.0
    last_failure = attempt.started_at
    failures = sorted(e[1] for e in attempt.events if e[0] == "automation_failed")
    for kind, _due, fired in attempt.timers:
        if kind == "retry":
            before = [at for at in failures if at <= fired]
            began = before[-1] if before else last_failure
        else:
            began = attempt.started_at
        if began is not None and attempt.finished_at is not None:
            timed += max(0.0, (min(fired, attempt.finished_at) - began).total_seconds())
    escalated = [e[1] for e in attempt.events if e[0] == "escalated"]
    person = 0.0
    if escalated and attempt.finished_at is not None:
        person = max(0.0, (attempt.finished_at - escalated[0]).total_seconds())
    timed = min(timed, total)
    person = min(person, total - timed)
    found = {("code", "code"): total - timed - person}
    if timed:
        found[("time", "timers")] = timed
    if person:
        found[("person", step.escalate_to or "whoever takes over")] = person
    return found


def phase_figures(workflow: Workflow, records: list[RunRecord]) -> tuple[list[dict[str, Any]], list[PhaseFacts]]:
    phases = workflow.phases or ["(all)"]
    phase_of = {s.id: (workflow.phase_of(s.id) if workflow.phases else "(all)") for s in workflow.steps}
    steps = {s.id: s for s in workflow.steps}
    cycles: dict[str, list[float]] = defaultdict(list)
    waits: dict[str, dict[str, float]] = {p: dict.fromkeys(WAITS, 0.0) for p in phases}
    facts = {p: PhaseFacts(p, 0) for p in phases}
    for record in records:
        spans: dict[str, list[datetime]] = defaultdict(list)
        per_phase: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
        for step_id, attempts in record.attempts.items():
            phase = phase_of.get(step_id)
            if phase is None:
                continue
            for attempt in attempts:
                if not attempt.reached or attempt.started_at is None or attempt.finished_at is None:
                    continue
                spans[phase] += [attempt.started_at, attempt.finished_at]
                for key, seconds in split_attempt(steps[step_id], attempt).items():
                    per_phase[phase][key] += seconds
        for phase, times in spans.items():
            cycles[phase].append((max(times) - min(times)).total_seconds())
            fact = facts[phase]
            fact.runs += 1
            for (wait, role), seconds in per_phase[phase].items():
                waits[phase][wait] += seconds
                fact.role_seconds[(wait, role)] = fact.role_seconds.get((wait, role), 0.0) + seconds
            if per_phase[phase]:
                top = max(per_phase[phase].items(), key=lambda item: item[1])[0]
                fact.longest.setdefault(top, []).append(record.id)
    figures = []
    for phase in phases:
        fact = facts[phase]
        total = sum(waits[phase].values())
        roles = sorted(fact.role_seconds.items(), key=lambda item: -item[1])
        figures.append({
            "phase": phase, "runs": fact.runs,
            "cycle_seconds": distribution(cycles[phase]),
            "waiting_seconds": {w: round(waits[phase][w] / fact.runs, 3) if fact.runs else 0.0 for w in WAITS},
            "waiting_share": {w: round(waits[phase][w] / total, 4) if total else 0.0 for w in WAITS},
            "roles": [{"wait": w, "role": r, "mean_seconds": round(s / fact.runs, 3)} for (w, r), s in roles],
            "bottleneck": ({"wait": roles[0][0][0], "role": roles[0][0][1]} if roles else None),
        })
    return figures, [facts[p] for p in phases]
