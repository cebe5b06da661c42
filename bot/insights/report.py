"""What `collect_insights` returns: figures per workflow, step and phase, and advisories with
their evidence. `Report.to_json()` is the stable shape other parts (Slack, metrics) read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ADVISORY_KINDS = ("to_people", "to_code", "contradiction", "bottleneck")
NOT_ENOUGH = "not enough runs yet"
MAX_RUN_IDS = 10


def window_text(delta: timedelta) -> str:
    """`90d`, `12h`, `30m` or seconds: how the CLI's `--since` writes it."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Evidence:
    runs: int  # runs the claim is about (the denominator)
    count: int  # runs that show it
    rate: float | None  # None while there are fewer than `min_runs` runs: no rate is asserted
    low: float | None  # Wilson 95% interval of the rate
    high: float | None
    run_ids: tuple[str, ...] = ()  # up to ten of the runs counted

    def to_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "count": self.count, "rate": self.rate, "low": self.low, "high": self.high,
                "run_ids": list(self.run_ids[:MAX_RUN_IDS])}


@dataclass(frozen=True)
class Advisory:
    workflow: str
    step: str | None  # for a bottleneck, the step of the phase where most of the wait is
    kind: str  # one of ADVISORY_KINDS
    summary: str
    evidence: Evidence
    suggestion: str | None = None  # YAML to consider, when there is one

    @property
    def enough_runs(self) -> bool:
        return self.evidence.rate is not None

    def to_json(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "step": self.step, "kind": self.kind, "summary": self.summary,
                "evidence": self.evidence.to_json(), "suggestion": self.suggestion}


@dataclass
class WorkflowInsights:
    id: str
    name: str
    runs: int
    steps: list[dict[str, Any]] = field(default_factory=list)  # each {"id", "kind", ...figures}
    phases: list[dict[str, Any]] = field(default_factory=list)  # each {"phase", ...figures}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "runs": self.runs, "steps": self.steps, "phases": self.phases}


@dataclass
class Report:
    generated_at: datetime
    since: timedelta
    min_runs: int
    workflows: list[WorkflowInsights] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)

    @property
    def since_at(self) -> datetime:
        return self.generated_at - self.since

    def workflow(self, workflow_id: str) -> WorkflowInsights:
        for found in self.workflows:
            if found.id == workflow_id:
                return found
        raise KeyError(workflow_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since_at.isoformat(),
            "window": window_text(self.since),
            "min_runs": self.min_runs,
            "workflows": [w.to_json() for w in self.workflows],
            "advisories": [a.to_json() for a in self.advisories],
        }
