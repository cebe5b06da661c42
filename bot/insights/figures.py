"""Figures per step, from its attempts across runs: automated steps (tries, retries,
escalations, take-overs, skips, failure causes, durations) and person steps (times asked,
handling time, reassignments, "Need help", rejection loops, output regularity)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.workflow import Workflow
from bot.insights.load import Attempt, RunRecord
from bot.insights.rules import Found, find_rule
from bot.insights.stats import Rate, distribution, top_causes

MAX_REGULARITY_RUNS = 2000  # the newest runs a rule is searched over
MIN_RULE_SHARE = 0.5  # a rule reproducing fewer runs than this is no rule worth showing


@dataclass
class StepFacts:
    """What the advisories need besides the JSON figures."""

    step_id: str
    kind: str
    runs: int
    rates: dict[str, Rate] = field(default_factory=dict)
    run_ids: dict[str, list[str]] = field(default_factory=dict)  # rate name -> runs counted
    rules: list[Found] = field(default_factory=list)
    unruled: list[str] = field(default_factory=list)  # output fields no small rule reproduces
    all_fields: tuple[int, int, list[str]] | None = None  # runs every rule reproduces, of, their ids


def kind_of(step: Any) -> str:
    if isinstance(step, GateStep):
        return "decision" if step.decide is not None else "gate"
    return str(step.kind)


def role_of(step: Any) -> str:
    """Who a step waits on, as the workflow names them."""
    match step:
        case TaskStep():
            return step.ask
        case ApprovalStep():
            return ", ".join(step.approvers)
        case GateStep():
            return step.decide or "code"
        case StandupStep():
            return ", ".join(step.participants)
        case _:
            return "code"


def _reached(records: list[RunRecord], step_id: str) -> list[tuple[RunRecord, list[Attempt]]]:
    found = []
    for record in records:
        attempts = record.attempts.get(step_id)
        if not attempts:
            continue
        if len(attempts) == 1:
            if attempts[0].reached:
                found.append((record, attempts))
        elif kept := [a for a in attempts if a.reached]:
            found.append((record, kept))
    return found


def _rate(name: str, facts: StepFacts, hits: list[str], runs: int) -> dict[str, Any]:
    facts.rates[name] = Rate(len(hits), runs)
    facts.run_ids[name] = hits
    return facts.rates[name].to_json()


def automation_figures(step: AutomationStep, records: list[RunRecord]) -> tuple[dict[str, Any], StepFacts]:
    reached = _reached(records, step.id)
    facts = StepFacts(step.id, "automation", len(reached))
    attempts = tries = first = 0
    errors: list[str] = []
    durations: list[float] = []
    escalated, taken, skipped, reviewed, corrected = [], [], [], [], []
    for record, steps in reached:
        kinds: set[str] = set()
        for attempt in steps:
            status = attempt.status
            attempts += 1
            if attempt.events:
                failures = [e for e in attempt.events if e[0] == "automation_failed"]
                kinds.update(e[0] for e in attempt.events)
                errors.extend(e[2] or "" for e in failures)
                succeeded = status == "completed" and not any(e[0] == "taken_over" for e in attempt.events)
                tries += len(failures) + int(succeeded)
                first += int(succeeded and not failures)
            elif status == "completed":
                tries += 1
                first += 1
            if status == "completed" and attempt.finished_at is not None and attempt.started_at is not None:
                durations.append(attempt.finished_at - attempt.started_at)
            elif status == "skipped":
                kinds.add("skipped")
        if "escalated" in kinds:
            escalated.append(record.id)
        if "taken_over" in kinds:
            taken.append(record.id)
        if "skipped" in kinds:
            skipped.append(record.id)
        if kinds & {"review_confirmed", "review_corrected"}:
            reviewed.append(record.id)
        if "review_corrected" in kinds:
            corrected.append(record.id)
    figures: dict[str, Any] = {
        "id": step.id, "kind": "automation", "name": step.title, "role": "code", "runs": len(reached),
        "attempts": attempts, "tries": tries,
        "first_try_success": Rate(first, attempts).to_json(),
        "mean_retries": round((tries - attempts) / attempts, 3) if attempts else None,
        "escalation": _rate("escalation", facts, escalated, len(reached)),
        "take_over": _rate("take_over", facts, taken, len(reached)),
        "skip": _rate("skip", facts, skipped, len(reached)),
        # Reviewed runs (`review:`), and those a person corrected: the correction rate of the reviewed.
        "reviewed": len(reviewed), "corrected": len(corrected),
        "correction": _rate("correction", facts, corrected, len(reviewed)),
        "failure_causes": top_causes(errors),
        "duration_seconds": distribution(durations),
    }
    return figures, facts


def _answered_at(attempt: Attempt) -> float | None:
    if attempt.finished_at is not None:
        return attempt.finished_at
    rejected = [e[1] for e in attempt.events if e[0] == "rejected"]
    return rejected[-1] if rejected else None


def person_figures(workflow: Workflow, step: Any, records: list[RunRecord]) -> tuple[dict[str, Any], StepFacts]:
    reached = _reached(records, step.id)
    kind = kind_of(step)
    facts = StepFacts(step.id, kind, len(reached))
    asked = 0
    handling: list[float] = []
    reassigned, helped, looped = [], [], []
    approval = isinstance(step, ApprovalStep)
    for record, steps in reached:
        kinds: set[str] = set()
        for attempt in steps:
            asked += 1
            if attempt.events:
                kinds.update(e[0] for e in attempt.events)
            answered = attempt.finished_at if attempt.finished_at is not None else _answered_at(attempt)
            if answered is not None and attempt.started_at is not None and attempt.status != "skipped":
                handling.append(answered - attempt.started_at)
        if "reassigned" in kinds:
            reassigned.append(record.id)
        if "help_requested" in kinds:
            helped.append(record.id)
        if ("rejected" in kinds) if approval else len(steps) > 1:
            looped.append(record.id)
    figures: dict[str, Any] = {
        "id": step.id, "kind": kind, "name": step.title, "role": role_of(step), "runs": len(reached),
        "asked": asked, "handling_seconds": distribution(handling),
        "reassign": _rate("reassign", facts, reassigned, len(reached)),
        "need_help": _rate("need_help", facts, helped, len(reached)),
        "rejection_loop": _rate("rejection_loop", facts, looped, len(reached)),
        "regularity": [],
    }
    outputs = getattr(step, "outputs", None) or {}
    if isinstance(step, TaskStep | ApprovalStep) and outputs:
        figures["regularity"] = regularity(workflow, step.id, list(outputs), reached, facts, _outputs)
    elif isinstance(step, GateStep) and step.decide is not None:
        figures["regularity"] = regularity(workflow, step.id, ["route"], reached, facts, _route)
    return figures, facts


def _outputs(attempt: Attempt) -> dict[str, Any] | None:
    return attempt.outputs if attempt.status == "completed" else None


def _route(attempt: Attempt) -> dict[str, Any] | None:
    """A decision's answer: the route it took (recorded when it completed)."""
    routes = [e[2] for e in attempt.events if e[0] == "route" and e[2]]
    return {"route": routes[-1]} if attempt.status == "completed" and routes else None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def features_of(record: RunRecord, before: float | None, step_id: str, order: dict[str, int]) -> dict[str, Any]:
    """The run's inputs and the outputs of earlier steps finished by `before`, by template name."""
    found = {f"inputs.{k}": v for k, v in record.inputs.items() if _scalar(v)}
    for other, attempts in record.attempts.items():
        if other == step_id or order.get(other, 1 << 30) > order.get(step_id, 0):
            continue
        done = [a for a in attempts if a.status == "completed" and a.outputs and a.finished_at is not None
                and (before is None or a.finished_at <= before)]
        if done:
            found.update({f"steps.{other}.outputs.{k}": v for k, v in (done[-1].outputs or {}).items() if _scalar(v)})
        routed = [a for a in attempts if a.events and a.finished_at is not None and (before is None or a.finished_at <= before)]
        route = _route(routed[-1]) if routed else None
        if route:
            found[f"steps.{other}.route"] = route["route"]
    return found


def regularity(workflow: Workflow, step_id: str, fields: list[str], reached: list[tuple[RunRecord, list[Attempt]]],
               facts: StepFacts, answer_of: Callable[[Attempt], dict[str, Any] | None]) -> list[dict[str, Any]]:
    order = {s.id: n for n, s in enumerate(workflow.steps)}
    rows: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    run_ids: list[str] = []
    for record, steps in reached[-MAX_REGULARITY_RUNS:]:
        done = [(a, answer) for a in steps if (answer := answer_of(a)) is not None]
        if not done:
            continue
        rows.append(features_of(record, done[-1][0].started_at, step_id, order))
        answers.append(done[-1][1])
        run_ids.append(record.id)
    found: list[dict[str, Any]] = []
    missed: set[str] = set()
    for name in fields:
        targets = [answer.get(name) for answer in answers]
        rule = find_rule(name, rows, targets, run_ids)
        if rule is None:
            continue
        missed.update(rule.run_ids)
        readable = rule.share >= MIN_RULE_SHARE and rule.matched > 1
        if readable:
            facts.rules.append(rule)
        else:
            facts.unruled.append(name)
        found.append({"field": name, "rule": rule.rule.text() if readable else None,
                      "kind": rule.rule.kind if readable else None, "matched": rule.matched,
                      "runs": rule.runs, "share": round(rule.share, 4),
                      "text": rule.text() if readable else
                      f"`{name}`: no small rule reproduces it (at best {rule.matched} of {rule.runs} runs)",
                      "exceptions": list(rule.run_ids[:10]) if readable else []})
    if rows:
        facts.all_fields = (len(rows) - len(missed), len(rows), [r for r in run_ids if r not in missed])
    return found
