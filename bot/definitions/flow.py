"""The control-flow graph of a workflow: which step can follow which.

Rules (the engine follows the same ones):
- After a step finishes, the run goes to its `next` if given; a gate goes to the route chosen
  (or its `default`, or the following step).
- Otherwise it falls through to the following step, unless that step declares `needs`; a step
  with `needs` starts when all the steps it needs have finished.
- An approval's rejection goes back to its `on_reject` step.
- Falling past the last step, or going to `end`, ends that path; the run ends when no path
  is active.
An edge to an earlier (or the same) step is a loop; everything else moves forward.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.definitions.steps import END, ApprovalStep, GateStep
from bot.definitions.workflow import Workflow


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # a step id or END
    why: str  # "next", "then", "needs", "route", "default", "rejected"
    label: str | None = None


@dataclass
class FlowGraph:
    order: list[str]
    edges: list[Edge] = field(default_factory=list)

    def index(self, step_id: str) -> int:
        return self.order.index(step_id) if step_id != END else len(self.order)

    def is_loop(self, edge: Edge) -> bool:
        return edge.target != END and self.index(edge.target) <= self.index(edge.source)

    def successors(self, step_id: str, *, forward_only: bool = False) -> list[str]:
        return [
            e.target for e in self.edges
            if e.source == step_id and not (forward_only and self.is_loop(e))
        ]

    def reachable(self) -> set[str]:
        """Steps a run can reach from the first one."""
        if not self.order:
            return set()
        seen = {self.order[0]}
        todo = [self.order[0]]
        while todo:
            for target in self.successors(todo.pop()):
                if target != END and target in self.order and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def can_end(self) -> set[str]:
        """Steps from which some path leads to the end of the run."""
        preds: dict[str, set[str]] = defaultdict(set)
        for e in self.edges:
            preds[e.target].add(e.source)
        seen: set[str] = set()
        todo = [END]
        while todo:
            for source in preds[todo.pop()]:
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen

    def ancestors(self) -> dict[str, set[str]]:
        """For each step, the steps that may have finished before it is reached the first time."""
        result: dict[str, set[str]] = {step_id: set() for step_id in self.order}
        for step_id in self.order:  # forward edges only, so list order is a topological order
            for target in self.successors(step_id, forward_only=True):
                if target in result:
                    result[target] |= result[step_id] | {step_id}
        return result


def build_flow(workflow: Workflow) -> FlowGraph:
    """The graph of `workflow`, with references to unknown steps left out (checks report them)."""
    ids = [step.id for step in workflow.steps]
    known = set(ids) | {END}
    graph = FlowGraph(order=ids)

    def add(source: str, target: str | None, why: str, label: str | None = None) -> None:
        if target is not None and target in known:
            graph.edges.append(Edge(source, target, why, label))

    for index, step in enumerate(workflow.steps):
        following = workflow.steps[index + 1] if index + 1 < len(workflow.steps) else None
        # A following step that declares `needs` is not reached by falling through.
        fall_through = END if following is None else (None if following.needs else following.id)
        if step.next is not None:
            add(step.id, step.next, "next")
        elif isinstance(step, GateStep):
            for route in step.routes:
                add(step.id, route.goto, "route", route.label or route.if_)
            if step.decide is None or step.default is not None:
                # A person's decision always picks a route; only conditions need a fallback.
                add(step.id, step.default or fall_through or END, "default")
        elif fall_through is not None:
            add(step.id, fall_through, "then")
        if isinstance(step, ApprovalStep) and step.on_reject:
            add(step.id, step.on_reject, "rejected")
        for needed in step.needs:
            add(needed, step.id, "needs")
    for step in workflow.steps:
        # A branch that nothing follows and nothing needs ends there.
        if step.next is None and not any(e.source == step.id and e.why != "rejected" for e in graph.edges):
            add(step.id, END, "then")
    return graph
