"""The YAML an advisory suggests: an automation whose outputs follow the rule found (or a
gate's routes, when the answer only chooses the way), and a person step in place of an
automation that keeps being handed to people."""

from __future__ import annotations

import json
from typing import Any

from bot.definitions.steps import AutomationStep, GateStep
from bot.definitions.workflow import Workflow
from bot.insights.rules import Found, Rule


def jinja(rule: Rule) -> str:
    """The rule as one Jinja expression over the run's template names."""
    if rule.test is not None and rule.then is not None and rule.other is not None:
        return f"{jinja(rule.then)} if {rule.test.condition()} else {jinja(rule.other)}"
    if rule.copy is not None:
        return rule.copy
    return json.dumps(rule.value)


def _field_yaml(spec: Any) -> str:
    data = spec.model_dump(exclude_defaults=True, exclude_none=True, by_alias=True) if hasattr(spec, "model_dump") else {}
    data.setdefault("type", getattr(spec, "type", "string"))
    return "{" + ", ".join(f"{k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in data.items()) + "}"


def _uses_gate(workflow: Workflow, step_id: str, found: Found) -> list[str] | None:
    """Later gates whose routes read this field: the rule can route there directly."""
    needle = f"steps.{step_id}.outputs.{found.field}"
    return [s.id for s in workflow.steps if s.kind == "gate" and any(needle in (r.if_ or "") for r in s.routes)] or None


def leaves(rule: Rule, conditions: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """The rule as (conditions that all hold, value), in order; the last one's conditions are
    what is left when none of the earlier ones holds."""
    if rule.test is not None and rule.then is not None and rule.other is not None:
        condition = rule.test.condition()
        return [*leaves(rule.then, (*conditions, condition)), *leaves(rule.other, (*conditions, f"not ({condition})"))]
    return [(conditions, rule.copy if rule.copy is not None else rule.value)]


def decision_yaml(step: GateStep, found: Found) -> str:
    """A person's gate as a gate that routes by itself: the rule's leaves become its routes."""
    labels = {route.goto: route.label for route in step.routes}
    lines = [f"# `{step.id}` decides by itself: the rule found in the recorded choices (check the exceptions first)",
             f"- id: {step.id}", f"  name: {step.title}", "  routes:"]
    found_leaves = leaves(found.rule)
    for conditions, goto in found_leaves[:-1]:
        lines += [f"    - if: {' and '.join(c for c in conditions if not c.startswith('not (')) or 'true'}",
                  f"      goto: {goto}"]
        if labels.get(goto):
            lines.append(f"      label: {labels[goto]}")
    lines.append(f"  default: {found_leaves[-1][1]}")
    return "\n".join(lines) + "\n"


def to_code_yaml(workflow: Workflow, step: Any, rules: list[Found]) -> str:
    if isinstance(step, GateStep) and step.decide is not None and rules:
        return decision_yaml(step, rules[0])
    lines = [f"# `{step.id}` by code: each output as the rule found it (check the exceptions first)"]
    gates = _uses_gate(workflow, step.id, rules[0]) if len(rules) == 1 and rules[0].rule.test is not None else None
    if gates:
        rule = rules[0].rule
        lines.append(f"# the answer only chooses the way: route in `{gates[0]}` by the rule instead of asking")
        lines.append(f"- id: {gates[0]}")
        lines.append("  routes:")
        lines.append(f"    - if: {_route_condition(rule)}")
        lines.append("      goto: ...   # the route taken when the answer was "
                     f"{json.dumps(rule.then.value if rule.then else None)}")
        lines.append("  default: ...")
        return "\n".join(lines) + "\n"
    outputs = getattr(step, "outputs", {}) or {}
    lines += [f"- id: {step.id}", f"  name: {step.title}", "  uses: automations.rules:outputs   "
              "# def outputs(ctx): return dict(ctx.params)", "  with:"]
    for found in rules:
        expression = jinja(found.rule)
        lines.append(f"    {found.field}: \"{{{{ {expression} }}}}\"" if '"' not in expression
                     else f"    {found.field}: '{{{{ {expression} }}}}'")
    lines.append("  outputs:")
    for name, spec in outputs.items():
        lines.append(f"    {name}: {_field_yaml(spec)}")
    lines.append("  diagnostic: {subjective: no, variable: no, repetitive: yes, consistency_critical: yes}")
    return "\n".join(lines) + "\n"


def _route_condition(rule: Rule) -> str:
    assert rule.test is not None
    return rule.test.condition()


def to_people_yaml(workflow: Workflow, step: AutomationStep) -> str:
    who = step.escalate_to or workflow.conductor or "starter"
    lines = [f"# `{step.id}` by a person: they hand off what the automation should have returned",
             f"- id: {step.id}", f"  name: {step.title}", f"  ask: {who}",
             f"  prompt: \"{step.title}\"", "  outputs:"]
    if step.outputs:
        lines += [f"    {name}: {_field_yaml(spec)}" for name, spec in step.outputs.items()]
    else:
        lines.append("    done: {type: boolean}")
    lines.append("  due: 1d")
    return "\n".join(lines) + "\n"
