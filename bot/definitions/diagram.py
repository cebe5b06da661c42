"""Draw a workflow as a Mermaid flowchart: people and code in separate swimlanes.

Inside each lane, steps are grouped by phase; gates sit between the lanes as decisions;
loops (rejections, routes back) are dashed so the happy path reads straight down.
"""

from __future__ import annotations

from bot.definitions.flow import Edge, build_flow
from bot.definitions.steps import END, Step
from bot.definitions.workflow import Workflow

_SHAPES = {
    "task": ('["', '"]'),
    "approval": ('{{"', '"}}'),
    "standup": ('(["', '"])'),
    "automation": ('[["', '"]]'),
    "gate": ('{"', '"}'),
}
_KIND_NOTES = {
    "task": "person",
    "approval": "approval",
    "standup": "stand-up",
    "automation": "automation",
    "gate": "gate",
}
_EDGE_WORDS = {"default": "otherwise", "rejected": "rejected"}


def _text(value: str) -> str:
    """Mermaid label text: quotes and angle brackets as entities so labels cannot break out."""
    return (
        value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def _node_id(step_id: str) -> str:
    return "finish" if step_id == END else f"s_{step_id}"


def _node(step: Step) -> str:
    left, right = _SHAPES[step.kind]
    label = f"{_text(step.title)}<br/><small>{_KIND_NOTES[step.kind]}</small>"
    return f"{_node_id(step.id)}{left}{label}{right}"


def _edge(edge: Edge, loop: bool) -> str:
    label = _EDGE_WORDS.get(edge.why) if edge.why != "route" else edge.label
    if edge.why == "needs":
        label = None
    arrow = "-.->" if loop or edge.why == "rejected" else "-->"
    text = f'|"{_text(label)}"|' if label else ""
    return f"    {_node_id(edge.source)} {arrow}{text} {_node_id(edge.target)}"


def to_mermaid(workflow: Workflow) -> str:
    """The Mermaid source of `workflow`'s diagram."""
    flow = build_flow(workflow)
    lines = ["flowchart TD", f"    start((start)) --> {_node_id(workflow.steps[0].id)}"]
    lanes = (("orchestral", "People (orchestral)"), ("algorithmic", "Code (algorithmic)"))
    for family, title in lanes:
        members = [s for s in workflow.steps if s.family == family]
        if not members:
            continue
        lines.append(f'    subgraph lane_{family}["{title}"]')
        lines.append("        direction TB")
        by_phase: dict[str | None, list[str]] = {}
        for step in members:
            phase = workflow.phase_of(step.id)
            by_phase.setdefault(phase, []).append(_node(step))
        for n, (phase, nodes) in enumerate(by_phase.items()):
            if phase is None:
                lines.extend(f"        {node}" for node in nodes)
                continue
            lines.append(f'        subgraph {family}_phase_{n}["{_text(phase)}"]')
            lines.extend(f"            {node}" for node in nodes)
            lines.append("        end")
        lines.append("    end")
    for step in workflow.steps:
        if step.family == "gate":
            lines.append(f"    {_node(step)}")
    lines.append("    finish((end))")
    seen: set[tuple[str, str, str]] = set()
    for edge in flow.edges:
        key = (edge.source, edge.target, edge.why)
        if key in seen:
            continue
        seen.add(key)
        lines.append(_edge(edge, flow.is_loop(edge)))
    lines.append("    classDef gate fill:#fff4d6,stroke:#c9a227")
    gates = [_node_id(s.id) for s in workflow.steps if s.family == "gate"]
    if gates:
        lines.append(f"    class {','.join(gates)} gate")
    return "\n".join(lines) + "\n"
