"""`collect_insights`: the recorded history of a window, read once, turned into a `Report`."""

from __future__ import annotations

import gc
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.definitions.steps import AutomationStep, GateStep
from bot.definitions.workflow import Workflow
from bot.engine.versions import UnknownWorkflow, WorkflowVersions
from bot.insights.advise import bottleneck, step_advisories
from bot.insights.figures import StepFacts, automation_figures, person_figures
from bot.insights.load import RunRecord, load_runs
from bot.insights.phases import phase_figures
from bot.insights.report import Report, WorkflowInsights
from bot.store.db import READ_ONLY

ADVISORY_ORDER = {"to_people": 0, "to_code": 1, "contradiction": 2, "bottleneck": 3}


def collect_insights(
    engine: Engine, versions: WorkflowVersions, *, now: datetime, since: timedelta = timedelta(days=90),
    workflow_id: str | None = None, min_runs: int = 20,
) -> Report:
    """Figures and advisories for the runs started in the `since` before `now`.

    Each workflow is read as its current version (`versions`) says; steps a run's older
    version had and the current one lacks are left out."""
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, none of them cyclic garbage
    try:
        return _collect(engine, versions, now, since, workflow_id, min_runs)
    finally:
        if collecting:
            gc.enable()


def _collect(engine: Engine, versions: WorkflowVersions, now: datetime, since: timedelta, workflow_id: str | None,
             min_runs: int) -> Report:
    decided = {s.id for wid in versions.workflow_ids() for s in versions.current(wid).workflow.steps
               if isinstance(s, GateStep) and s.decide is not None}
    records = load_runs(engine, now - since, now, workflow_id, decided)
    by_workflow: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        by_workflow[record.workflow_id].append(record)
    report = Report(generated_at=now, since=since, min_runs=min_runs)
    ids = [workflow_id] if workflow_id is not None else sorted(set(versions.workflow_ids()) | set(by_workflow))
    for wid in ids:
        workflow = _workflow(versions, wid, engine, by_workflow.get(wid, []))
        if workflow is None:
            continue
        insights, advisories = workflow_insights(workflow, by_workflow.get(wid, []), min_runs)
        if insights.runs or workflow_id is not None:
            report.workflows.append(insights)
            report.advisories += advisories
    report.advisories.sort(key=lambda a: (a.workflow, ADVISORY_ORDER.get(a.kind, 9), a.step or ""))
    return report


def _workflow(versions: WorkflowVersions, workflow_id: str, engine: Engine, records: list[RunRecord]) -> Workflow | None:
    try:
        return versions.current(workflow_id).workflow
    except UnknownWorkflow:
        if not records:
            return None
    with engine.execution_options(**READ_ONLY).connect() as conn:  # no longer loaded: as its newest run began
        return versions.by_row(conn, records[-1].version_row).workflow


def workflow_insights(workflow: Workflow, records: list[RunRecord], min_runs: int) -> tuple[WorkflowInsights, list[Any]]:
    insights = WorkflowInsights(workflow.id, workflow.title, len(records))
    facts: list[StepFacts] = []
    for step in workflow.steps:
        if isinstance(step, AutomationStep):
            figures, fact = automation_figures(step, records)
        elif isinstance(step, GateStep) and step.decide is None:
            figures, fact = _route_figures(step, records), None
        else:
            figures, fact = person_figures(workflow, step, records)
        figures["phase"] = workflow.phase_of(step.id)
        figures["enough_runs"] = figures["runs"] >= min_runs
        insights.steps.append(figures)
        if fact is not None:
            facts.append(fact)
    insights.phases, phase_facts = phase_figures(workflow, records)
    advisories = step_advisories(workflow, facts, min_runs)
    advisories += bottleneck(workflow, phase_facts, len(records), min_runs)
    return insights, advisories


def _route_figures(step: GateStep, records: list[RunRecord]) -> dict[str, Any]:
    reached = sum(1 for r in records if any(a.reached for a in r.attempts.get(step.id, [])))
    return {"id": step.id, "kind": "gate", "name": step.title, "role": "code", "runs": reached}
