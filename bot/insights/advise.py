"""Advisories from the figures: steps to hand to people, steps code could do, diagnostics that
disagree with behaviour, and where runs wait longest. Each carries its evidence; below
`min_runs` an advisory says "not enough runs yet" and asserts no rate."""

from __future__ import annotations

from typing import Any

from bot.definitions.four_questions import recommend
from bot.definitions.steps import AutomationStep, TaskStep
from bot.definitions.workflow import Workflow
from bot.insights.figures import StepFacts
from bot.insights.phases import PhaseFacts
from bot.insights.report import MAX_RUN_IDS, NOT_ENOUGH, Advisory, Evidence
from bot.insights.rules import Found
from bot.insights.stats import Rate
from bot.insights.suggest import to_code_yaml, to_people_yaml

TO_PEOPLE_THRESHOLD = 0.10  # an automation handed to people this often (lower bound) is theirs
TO_CODE_SHARE = 0.95  # a person step whose answers a rule reproduces this often is code's


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.0f}%"


def evidence(rate: Rate, run_ids: list[str], enough: bool) -> Evidence:
    low, high = rate.interval or (None, None)
    if not enough:
        return Evidence(rate.runs, rate.count, None, None, None, tuple(run_ids[:MAX_RUN_IDS]))
    return Evidence(rate.runs, rate.count, round(rate.value or 0.0, 4), round(low or 0.0, 4),
                    round(high or 0.0, 4), tuple(run_ids[:MAX_RUN_IDS]))


def _claim(rate: Rate, enough: bool, words: str, min_runs: int) -> str:
    if not enough:
        return f"{NOT_ENOUGH} ({rate.runs} of {min_runs}): {rate.count} of {rate.runs} runs {words} so far"
    low, high = rate.interval or (0.0, 0.0)
    return f"{rate.count} of {rate.runs} runs {words} ({_percent(rate.value)}, 95% CI {_percent(low)}–{_percent(high)})"


def step_advisories(workflow: Workflow, facts: list[StepFacts], min_runs: int) -> list[Advisory]:
    found: list[Advisory] = []
    steps = {s.id: s for s in workflow.steps}
    for fact in facts:
        step = steps[fact.step_id]
        enough = fact.runs >= min_runs
        if isinstance(step, AutomationStep):
            found += _automation(workflow, step, fact, enough, min_runs)
        elif fact.all_fields is not None:
            found += _person(workflow, step, fact, enough, min_runs)
    return found


def _automation(workflow: Workflow, step: AutomationStep, fact: StepFacts, enough: bool,
                min_runs: int) -> list[Advisory]:
    # Handed to people: escalated, or taken over (a take-over follows an escalation).
    escalation, take_over = fact.rates["escalation"], fact.rates["take_over"]
    name, rate = ("escalation", escalation) if escalation.count >= take_over.count else ("take_over", take_over)
    low, _ = rate.interval or (0.0, 0.0)
    holds = low > TO_PEOPLE_THRESHOLD if enough else (rate.value or 0.0) > TO_PEOPLE_THRESHOLD
    if not holds:
        return []
    words = "were escalated to a person" if name == "escalation" else "were taken over by a person"
    ev = evidence(rate, fact.run_ids[name], enough)
    claim = _claim(rate, enough, words, min_runs)
    found = [Advisory(workflow.id, step.id, "to_people", f"`{step.id}` is often a person's work: {claim}", ev,
                      to_people_yaml(workflow, step))]
    declared = step.diagnostic
    if declared is not None and not declared.variable and enough:
        found.append(Advisory(workflow.id, step.id, "contradiction",
                              f"`{step.id}` declares `variable: no`, yet {claim}", ev, None))
    return found


def _person(workflow: Workflow, step: Any, fact: StepFacts, enough: bool, min_runs: int) -> list[Advisory]:
    assert fact.all_fields is not None
    matched, runs, run_ids = fact.all_fields
    rate = Rate(matched, runs)
    enough = enough and runs >= min_runs
    if not fact.rules or fact.unruled or (rate.value or 0.0) < TO_CODE_SHARE:
        return []
    rules = "; ".join(rule.text() for rule in fact.rules)
    ev = evidence(rate, run_ids, enough)
    if not enough:
        summary = f"`{step.id}` may be code's: {NOT_ENOUGH} ({runs} of {min_runs}): {rules}"
        return [Advisory(workflow.id, step.id, "to_code", summary, ev, None)]
    exceptions = _exceptions(fact.rules)
    summary = (f"`{step.id}` follows a rule in {matched} of {runs} runs ({_percent(rate.value)}, 95% CI "
               f"{_percent(ev.low)}–{_percent(ev.high)}): {rules}{exceptions}")
    found = [Advisory(workflow.id, step.id, "to_code", summary, ev, to_code_yaml(workflow, step, fact.rules))]
    declared = step.diagnostic
    if declared is not None:
        advice = recommend(declared.subjective, declared.variable, declared.repetitive, declared.consistency_critical)
        if not declared.repetitive or advice.recommendation == "orchestral":
            said = "`repetitive: no`" if not declared.repetitive else "a diagnostic that says people"
            found.append(Advisory(workflow.id, step.id, "contradiction",
                                  f"`{step.id}` declares {said}, yet {matched} of {runs} answers follow a rule: "
                                  f"{rules}", ev, _diagnostic_yaml(step)))
    return found


def _exceptions(rules: list[Found]) -> str:
    missed = sorted({run for rule in rules for run in rule.run_ids})
    if not missed:
        return ""
    shown = ", ".join(missed[:5]) + (" …" if len(missed) > 5 else "")
    return f" (exceptions: {shown})"


def _diagnostic_yaml(step: TaskStep | Any) -> str:
    d = step.diagnostic
    assert d is not None
    return (f"- id: {step.id}\n  diagnostic: {{subjective: {'yes' if d.subjective else 'no'}, "
            f"variable: {'yes' if d.variable else 'no'}, repetitive: yes, consistency_critical: "
            f"{'yes' if d.consistency_critical else 'no'}}}\n")


def bottleneck(workflow: Workflow, phases: list[PhaseFacts], runs: int, min_runs: int) -> list[Advisory]:
    """The phase and role where runs wait longest (mean seconds per run over all runs)."""
    best: tuple[float, PhaseFacts, tuple[str, str]] | None = None
    for fact in phases:
        for key, seconds in fact.role_seconds.items():
            if key[0] == "code":
                continue
            mean = seconds / runs if runs else 0.0
            if best is None or mean > best[0]:
                best = (mean, fact, key)
    if best is None or best[0] <= 0:
        return []
    mean, fact, (wait, role) = best
    led = fact.longest.get((wait, role), [])
    rate = Rate(len(led), fact.runs)
    enough = runs >= min_runs
    who = "timers" if wait == "time" else f"`{role}`"
    where = f"`{fact.phase}`" if workflow.phases else "the workflow"
    if not enough:
        summary = f"{NOT_ENOUGH} ({runs} of {min_runs}): so far runs wait longest in {where}, on {who}"
    else:
        summary = (f"Runs wait longest in {where}, on {who}: {_hours(mean)} a run on average; the longest wait "
                   f"of the phase in {rate.count} of {rate.runs} runs ({_percent(rate.value)})")
    steps = fact.by_step.get((wait, role), {})
    step = max(steps, key=steps.__getitem__) if steps else None  # where in the phase most of that wait is
    if step is not None and enough:
        summary += f"; most of it at `{step}`"
    return [Advisory(workflow.id, step, "bottleneck", summary, evidence(rate, led, enough), None)]


def _hours(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
