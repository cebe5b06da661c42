"""The history as events: what happened, when, by whom (a person, or code), to which run and
step attempt, read from the audit log, the asks the engine posted and the tries the clock made.

Activities (and what records them):

| activity | from |
|---|---|
| run started | audit `run_started` (by the starter; by code for a schedule or a webhook) |
| step asked | an ask the engine posted (a task, an approval, a decision, a stand-up prompt) |
| step answered | an accepted answer, approval, decision or stand-up answer (a DM's last reply) |
| step rejected | audit `rejected` |
| step reassigned | an accepted reassignment (the new assignee is related as `assigned`) |
| retry asked, help asked | an accepted retry; audit `help_requested` |
| automation tried | a dispatch row the clock claimed (one per try) |
| automation failed | audit `automation_failed` |
| step escalated, step overdue, step looped back | audits `escalated`, `overdue`, `looped_back` |
| step taken over | audit `taken_over` |
| shadow compared | audit `shadow_compared` (a shadow's candidate against the person: `status`, `agreed`) |
| step completed, skipped, failed, cancelled | audits `step_completed`, `step_skipped`, ... |
| run finished | audits `run_completed`, `run_failed`, `run_cancelled` (its `status` says which) |

Refusals and the engine's own notes (an unevaluable condition, a partial join) are left out:
they change nothing in the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.definitions.steps import StandupStep
from bot.history.privacy import Privacy
from bot.history.source import AskRecord, AuditRecord, History, RunRecord, TryRecord

PERSON, CODE = "person", "code"
FAMILY_KIND = {"orchestral": PERSON, "algorithmic": CODE, "gate": "gate"}
SHADOW = "shadow_compared"

# audit type -> activity, for audits that map one to one.
AUDITS = {
    "run_started": "run started",
    "rejected": "step rejected",
    "help_requested": "help asked",
    "automation_failed": "automation failed",
    "escalated": "step escalated",
    "overdue": "step overdue",
    "looped_back": "step looped back",
    "taken_over": "step taken over",
    SHADOW: "shadow compared",
    "step_completed": "step completed",
    "step_skipped": "step skipped",
    "step_failed": "step failed",
    "step_cancelled": "step cancelled",
    "run_completed": "run finished",
    "run_failed": "run finished",
    "run_cancelled": "run finished",
}
ANSWERS = ("Answer", "Approve", "Decide", "StandupAnswer")
# What each audit carries that only some may see (`bot.history.privacy`).
PRIVATE_KEYS = ("error", "reason", "inputs", "outputs", "answers", "text")
ACTIVITIES = (
    "run started", "step asked", "step answered", "step rejected", "step reassigned", "retry asked", "help asked",
    "automation tried", "automation failed", "step escalated", "step overdue", "step looped back", "step taken over",
    "shadow compared", "step completed", "step skipped", "step failed", "step cancelled", "run finished",
)


@dataclass(frozen=True)
class HistoryEvent:
    id: str
    activity: str
    time: datetime
    run: RunRecord
    step_id: str | None = None
    attempt: int | None = None
    actor: str | None = None  # a Slack user ID; None when code did it
    related: tuple[tuple[str, str], ...] = ()  # (person, qualifier) besides the actor
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)

    @property
    def actor_kind(self) -> str:
        return PERSON if self.actor else CODE

    @property
    def step_object(self) -> str | None:
        return step_object_id(self.run.id, self.step_id, self.attempt) if self.step_id else None

    @property
    def step_kind(self) -> str | None:
        if not self.step_id:
            return None
        return FAMILY_KIND[self.run.workflow.step(self.step_id).family]


def step_object_id(run_id: str, step_id: str, attempt: int | None) -> str:
    return f"{run_id}/{step_id}/{attempt or 1}"


def is_person(principal: str | None) -> bool:
    """A Slack user ID (not a user group, not `anyone`)."""
    return principal is not None and principal[:1] in ("U", "W") and principal[1:].isalnum()


@dataclass
class _Pending:
    key: tuple[datetime, float, int, int]
    source: AuditRecord | AskRecord | TryRecord


def events_of(history: History, privacy: Privacy) -> list[HistoryEvent]:
    """Every event of the history's runs, in the order they happened."""
    anchors = _anchors(history.audits)
    pending = [_Pending((a.at, float(a.id), 0, a.id), a) for a in history.audits]
    pending += [_Pending((k.at, anchors.anchor(k.run_id, k.at, k.step_id), 1, k.id), k) for k in history.asks]
    pending += [_Pending((t.at, anchors.before(t.run_id, t.at, t.step_id), 2, t.id), t) for t in history.tries]
    pending.sort(key=lambda p: p.key)
    attempts: dict[tuple[str, str], int] = {}
    replies: dict[tuple[str, str, str], int] = {}
    events: list[HistoryEvent] = []
    for item in pending:
        source = item.source
        run = history.runs.get(source.run_id)
        if run is None:
            continue
        if isinstance(source, AuditRecord) and source.type == "step_started" and source.step_id:
            attempts[(run.id, source.step_id)] = int(source.payload.get("attempt") or 1)
            continue
        if isinstance(source, TryRecord):
            attempts.setdefault((run.id, source.step_id), source.attempt)
        attempt = attempts.get((run.id, source.step_id)) if source.step_id else None
        event = _event(run, source, attempt, privacy, replies)
        if event is not None:
            events.append(event)
    return events


class _Anchors:
    """Where a row that is not an audit row sorts among the audit rows of the same moment. An
    ask: right after its step's `step_started` then, else after the run's last audit row by
    then. A try: just before the first audit row of its step from then on (its outcome)."""

    def __init__(self) -> None:
        self.started: dict[tuple[str, str, datetime], int] = {}
        self.by_run: dict[str, list[tuple[datetime, int]]] = {}
        self.by_step: dict[tuple[str, str], list[tuple[datetime, int]]] = {}

    def before(self, run_id: str, at: datetime, step_id: str) -> float:
        after = [audit_id for when, audit_id in self.by_step.get((run_id, step_id), []) if when >= at]
        return min(after) - 0.5 if after else self.anchor(run_id, at, None)

    def anchor(self, run_id: str, at: datetime, step_id: str | None) -> float:
        started = self.started.get((run_id, step_id or "", at))
        if started is not None:
            return started + 0.5
        before = [audit_id for when, audit_id in self.by_run.get(run_id, []) if when <= at]
        return (max(before) if before else 0) + 0.5


def _anchors(audits: list[AuditRecord]) -> _Anchors:
    anchors = _Anchors()
    for a in audits:
        anchors.by_run.setdefault(a.run_id, []).append((a.at, a.id))
        if a.step_id:
            anchors.by_step.setdefault((a.run_id, a.step_id), []).append((a.at, a.id))
        if a.type == "step_started" and a.step_id:
            anchors.started.setdefault((a.run_id, a.step_id, a.at), a.id)
    return anchors


def _event(run: RunRecord, source: AuditRecord | AskRecord | TryRecord, attempt: int | None, privacy: Privacy,
           replies: dict[tuple[str, str, str], int]) -> HistoryEvent | None:
    if isinstance(source, AskRecord):
        if source.reassigned_by:  # the reassignment is its own event
            return None
        asked = tuple((p, "asked") for p in source.to if is_person(p))
        return HistoryEvent(f"ask-{source.id}", "step asked", source.at, run, source.step_id, attempt,
                            related=asked)
    if isinstance(source, TryRecord):
        return HistoryEvent(f"try-{source.id}", "automation tried", source.at, run, source.step_id, source.attempt,
                            attributes={"try": source.try_number})
    return _audit_event(run, source, attempt, privacy, replies)


def _audit_event(run: RunRecord, a: AuditRecord, attempt: int | None, privacy: Privacy,
                 replies: dict[tuple[str, str, str], int]) -> HistoryEvent | None:
    event_id, actor = f"audit-{a.id}", a.actor if is_person(a.actor) else None
    if a.type == "accepted":
        described = a.payload
        kind = described.get("type")
        if kind == "StandupReply":
            if not a.step_id or not _completes(run, a, replies):
                return None
            kind = "StandupAnswer"
        if kind in ANSWERS:
            values = {k: described.get(k) for k in ("outputs", "answers")}
            public: dict[str, Any] = {"choice": described["choice"]} if kind == "Decide" else {}
            return HistoryEvent(event_id, "step answered", a.at, run, a.step_id, attempt, actor,
                                attributes={**public, **privacy.values(values)})
        if kind == "Reassign":
            assignee = str(described.get("assignee") or "")
            return HistoryEvent(event_id, "step reassigned", a.at, run, a.step_id, attempt, actor,
                                related=((assignee, "assigned"),) if is_person(assignee) else ())
        if kind == "RetryNow":
            return HistoryEvent(event_id, "retry asked", a.at, run, a.step_id, attempt, actor)
        return None
    activity = AUDITS.get(a.type)
    if activity is None:
        return None
    public = {}
    if a.type == "automation_failed":
        public = {"try": int(a.payload.get("try_number") or 0), "retryable": bool(a.payload.get("retryable"))}
    elif a.type.startswith("run_") and a.type != "run_started":
        public = {"status": a.type.removeprefix("run_")}
    elif a.type == "step_completed" and a.payload.get("route"):
        public = {"route": str(a.payload["route"])}
    elif a.type == "looped_back" and a.payload.get("source"):
        public = {"from": str(a.payload["source"])}
    private = {k: v for k, v in a.payload.items() if k in PRIVATE_KEYS}
    if a.type == SHADOW:  # how the comparison came out is the process; anything else stays out
        public = {k: a.payload[k] for k in ("status", "agreed") if isinstance(a.payload.get(k), (str, bool))}
        private = {k: v for k, v in a.payload.items() if k not in ("status", "agreed", "attempt")}
    step_id = a.step_id if a.type != "run_started" and not a.type.startswith("run_") else None
    if a.type == "run_started":
        actor = run.started_by if is_person(run.started_by) else None
    return HistoryEvent(event_id, activity, a.at, run, step_id, attempt if step_id else None, actor,
                        attributes={**public, **privacy.values(private)})


def _completes(run: RunRecord, a: AuditRecord, replies: dict[tuple[str, str, str], int]) -> bool:
    """Whether a stand-up DM reply is a participant's last (one reply per question)."""
    step = run.workflow.step(a.step_id or "")
    if not isinstance(step, StandupStep):
        return False
    key = (run.id, step.id, a.actor or "")
    replies[key] = replies.get(key, 0) + 1
    return replies[key] % len(step.questions) == 0
