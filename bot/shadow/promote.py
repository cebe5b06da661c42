"""`conductor promote` and `conductor demote`: the YAML change that moves a step from people
to code (its shadow becomes the automation, escalating to the same people), or back (the
automation stays as the person step's shadow). Printed as a diff of the workflow file, never
written: people review it and commit it. The change is read and written with ruamel.yaml's
round trip, so comments and the rest of the file stay as they were."""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.definitions.loader import LoadedWorkflow
from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, TaskStep
from bot.engine.shadow import wilson_lower_bound

REVIEW_SHARE = 10  # the review note's sample: 1 in this many outputs


@dataclass(frozen=True)
class Figures:
    runs: int  # comparisons that could be judged (a shadow that was never sent cannot)
    agreed: int

    @property
    def share(self) -> float:
        return self.agreed / self.runs if self.runs else 0.0

    @property
    def lower_bound(self) -> float:
        return wilson_lower_bound(self.agreed, self.runs)

    def line(self) -> str:
        return (f"{self.runs} run{'s' if self.runs != 1 else ''} compared, {self.agreed} agreed ({self.share:.1%}), "
                f"Wilson 95% lower bound {self.lower_bound:.1%}")


class Refused(Exception):
    """Not promoted (or demoted): why, in one line or a few."""


def figures_of(url: str, workflow_id: str, step_id: str) -> Figures:
    from sqlalchemy import func, select

    from bot.shadow.tables import ShadowCase
    from bot.store.db import make_engine

    engine = make_engine(url)
    try:
        judged = select(func.count(), func.count().filter(ShadowCase.agreed.is_(True))).where(
            ShadowCase.workflow_id == workflow_id, ShadowCase.step_id == step_id, ShadowCase.source == "shadow",
            ShadowCase.agreed.is_not(None))
        with engine.connect() as conn:
            runs, agreed = conn.execute(judged).one()
        return Figures(int(runs), int(agreed))
    finally:
        engine.dispose()


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _diff(loaded: LoadedWorkflow, change: Any) -> str:
    """`change(steps)` applied to the file's round-trip data, as a unified diff."""
    yaml = _yaml()
    data = yaml.load(loaded.source)
    change(data["steps"])
    out = io.StringIO()
    yaml.dump(data, out)
    return "".join(difflib.unified_diff(loaded.source.splitlines(keepends=True), out.getvalue().splitlines(keepends=True),
                                        fromfile=_label("a", loaded.path), tofile=_label("b", loaded.path)))


def _label(side: str, path: str) -> str:
    """`a/<path>` and `b/<path>` for a relative path (so `git apply` takes the diff), else the path."""
    return path if path.startswith("/") else f"{side}/{path}"


def changed_source(loaded: LoadedWorkflow, change: Any) -> str:
    yaml = _yaml()
    data = yaml.load(loaded.source)
    change(data["steps"])
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _index(steps: CommentedSeq, step_id: str) -> int:
    for n, raw in enumerate(steps):
        if isinstance(raw, dict) and raw.get("id") == step_id:
            return n
    raise Refused(f"no step `{step_id}` in the file")


_COMMON = ("id", "name", "phase", "if", "needs", "next", "diagnostic")
_RUNNER = ("uses", "run", "http", "with", "env", "timeout")


def promotion(loaded: LoadedWorkflow, step_id: str, figures: Figures, *, min_agreement: float, min_runs: int) -> Any:
    """The change that makes `step_id` its shadow automation; Refused with the figures when the
    evidence is not there yet."""
    workflow = loaded.workflow
    step = workflow.step(step_id)
    if not isinstance(step, (TaskStep, ApprovalStep, GateStep)) or step.shadow is None:
        raise Refused(f"`{step_id}` has no `shadow:`: give it one and let it run beside the person first")
    if figures.runs < min_runs or figures.lower_bound < min_agreement:
        why = (f"fewer than {min_runs} runs" if figures.runs < min_runs
               else f"the lower bound is below {min_agreement:.0%}")
        raise Refused(f"not promoted: {figures.line()}; {why}")
    people = _people_of(step, workflow.conductor)

    def change(steps: CommentedSeq) -> None:
        n = _index(steps, step_id)
        raw = steps[n]
        auto = CommentedMap((k, raw[k]) for k in _COMMON if k in raw)
        for key in _RUNNER:
            if key in raw["shadow"]:
                auto[key] = raw["shadow"][key]
        outputs = CommentedMap(raw.get("outputs") or {})
        if isinstance(step, ApprovalStep):
            outputs = CommentedMap([("approved", "boolean"), *outputs.items()])
        if isinstance(step, GateStep):
            outputs = CommentedMap([("route", CommentedMap([("type", "enum"), ("options", [r.goto for r in step.routes])]))])
        if outputs:
            auto["outputs"] = outputs
        auto["on_failure"] = "escalate"
        if people:
            auto["escalate_to"] = people
        auto.yaml_add_eol_comment(
            f"review: for the first weeks, {people or 'a person'} checks 1 in {REVIEW_SHARE} of its outputs "
            f"(promoted on {figures.line()})", "on_failure")
        steps[n] = auto
        follow = _follow_gate(step, raw)
        if follow is not None:
            steps.insert(n + 1, follow)

    return change


def _people_of(step: TaskStep | ApprovalStep | GateStep, conductor: str | None) -> str | None:
    """The role the automation escalates to: whoever did the step by hand."""
    who = step.ask if isinstance(step, TaskStep) else step.approvers[0] if isinstance(step, ApprovalStep) else step.decide
    if who is None or "{{" in who:
        return conductor
    return who


def _follow_gate(step: TaskStep | ApprovalStep | GateStep, raw: Any) -> CommentedMap | None:
    """What people chose by hand, chosen from the automation's outputs: a gate of conditions."""
    if isinstance(step, GateStep):
        routes = [CommentedMap([("if", f'steps.{step.id}.outputs.route == "{r.goto}"'), ("goto", r.goto)])
                  for r in step.routes]
        return CommentedMap([("id", f"{step.id}_route"), ("routes", routes), ("default", step.routes[0].goto)])
    if isinstance(step, ApprovalStep):
        rejected = step.on_reject or "end"
        return CommentedMap([("id", f"{step.id}_decision"),
                             ("routes", [CommentedMap([("if", f"not steps.{step.id}.outputs.approved"),
                                                       ("goto", rejected)])])])
    return None


def demotion(loaded: LoadedWorkflow, step_id: str, *, ask: str | None = None) -> Any:
    """The change that hands an automation back to people, keeping it as the step's shadow."""
    workflow = loaded.workflow
    step = workflow.step(step_id)
    if not isinstance(step, AutomationStep):
        raise Refused(f"`{step_id}` is not an automation: nothing to demote")
    if step.uses is not None and step.uses.startswith("conductor/"):
        raise Refused(f"`{step_id}` is the built-in `{step.uses}`: it has no code to keep as a shadow")
    who = ask or step.escalate_to or workflow.conductor or "starter"

    def change(steps: CommentedSeq) -> None:
        n = _index(steps, step_id)
        raw = steps[n]
        task = CommentedMap((k, raw[k]) for k in _COMMON if k in raw)
        task["ask"] = who
        task["prompt"] = f"Do what `{step.uses or 'the automation'}` did by hand; it runs beside you as a shadow."
        if raw.get("outputs"):
            task["outputs"] = raw["outputs"]
        task["shadow"] = CommentedMap((k, raw[k]) for k in _RUNNER if k in raw)
        steps[n] = task

    return change


__all__ = ["Figures", "Refused", "changed_source", "demotion", "figures_of", "promotion", "_diff"]
