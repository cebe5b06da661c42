"""`conductor cases export`, `conductor replay`, `conductor promote` and `demote`: the work
behind the commands, so that `bot/cli.py` only reads options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.definitions.loader import LoadedWorkflow, load_paths
from bot.definitions.shadow import CompareMode
from bot.settings import Settings


class CommandProblem(Exception):
    """A mistake in what was asked (an unknown workflow or step): one line, exit 1."""


def loaded_workflow(workflows_dir: str, workflow_id: str) -> LoadedWorkflow:
    catalog = load_paths([workflows_dir])
    if workflow_id not in catalog.workflows:
        known = ", ".join(sorted(catalog.workflows)) or "none"
        raise CommandProblem(f"no workflow `{workflow_id}` in {workflows_dir} (found: {known})")
    return catalog.workflows[workflow_id]


def comparison_of(loaded: LoadedWorkflow | None, step_id: str) -> tuple[dict[str, CompareMode], tuple[str, ...]]:
    """How the step's outputs are compared: its shadow's `compare` and the fields it hands off."""
    if loaded is None:
        return {}, ()
    try:
        step = loaded.workflow.step(step_id)
    except KeyError:
        raise CommandProblem(f"workflow `{loaded.workflow.id}` has no step `{step_id}`") from None
    shadow = getattr(step, "shadow", None)
    if shadow is not None:
        return dict(shadow.compare), step.shadow_fields()  # type: ignore[union-attr]
    return {}, tuple(getattr(step, "outputs", {}) or {})


def export(settings: Settings, workflow_id: str, step_id: str, out: str | None, every: bool) -> list[str]:
    from bot.shadow.cases import export_cases, read_cases

    cases = read_cases(settings.database_url, workflow_id, step_id, every=every)
    folder = Path(out) if out else Path("cases") / workflow_id / step_id
    paths = export_cases(cases, folder)
    kind = "comparison" if every else "case"
    return [f"{len(paths)} {kind}{'s' if len(paths) != 1 else ''} of {workflow_id}.{step_id} written to {folder}"]


def replay(settings: Settings, workflow_id: str, step_id: str, spec: str, fixtures: str | None,
           every: bool, timeout: float) -> tuple[list[str], int]:
    from bot.shadow.cases import load_fixtures, read_cases
    from bot.shadow.replay import parse_candidate
    from bot.shadow.replay import replay as run_replay

    try:
        candidate = parse_candidate(spec, timeout)
    except ValueError as exc:
        raise CommandProblem(f"--with: {exc}") from None
    try:
        loaded: LoadedWorkflow | None = loaded_workflow(settings.workflows_dir, workflow_id)
    except CommandProblem:
        if fixtures is None:
            raise
        loaded = None
    modes, names = comparison_of(loaded, step_id)
    cases: list[dict[str, Any]]
    if fixtures is not None:
        cases = [c for c in load_fixtures(Path(fixtures)) if c.get("step", step_id) == step_id]
    else:
        cases = read_cases(settings.database_url, workflow_id, step_id, every=every)
    report = run_replay(cases, candidate, workflows_dir=settings.workflows_dir, modes=modes, names=names)
    return report.lines(), 0 if report.replayed and report.agreed == len(report.replayed) else 1


def promote(settings: Settings, workflow_id: str, step_id: str, min_agreement: float, min_runs: int) -> str:
    """The diff that makes the step its shadow automation (Refused without the evidence)."""
    from bot.shadow.promote import _diff, figures_of, promotion

    loaded = loaded_workflow(settings.workflows_dir, workflow_id)
    comparison_of(loaded, step_id)  # an unknown step is a CommandProblem
    figures = figures_of(settings.database_url, workflow_id, step_id)
    return _diff(loaded, promotion(loaded, step_id, figures, min_agreement=min_agreement, min_runs=min_runs))


def demote(settings: Settings, workflow_id: str, step_id: str, ask: str | None) -> str:
    """The diff that hands the automation back to people, keeping it as the step's shadow."""
    from bot.shadow.promote import _diff, demotion

    loaded = loaded_workflow(settings.workflows_dir, workflow_id)
    comparison_of(loaded, step_id)
    return _diff(loaded, demotion(loaded, step_id, ask=ask))
