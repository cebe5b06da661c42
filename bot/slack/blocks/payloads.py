"""A read-only view of an outbox message payload, as `bot.engine.journal.write_effects` writes it:
`{"kind", "run_id", "workflow_id", "step_id", "to", "text", "data"}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.blocks import actions as a
from bot.slack.blocks import text as t


@dataclass(frozen=True)
class Payload:
    kind: str
    run_id: str
    workflow_id: str
    step_id: str | None
    to: tuple[str, ...]
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    workflow_title: str | None = None

    @classmethod
    def of(cls, payload: dict[str, Any], workflow_title: str | None = None) -> Payload:
        data = payload.get("data")
        return cls(
            kind=str(payload.get("kind") or ""),
            run_id=str(payload.get("run_id") or ""),
            workflow_id=str(payload.get("workflow_id") or ""),
            step_id=payload.get("step_id"),
            to=tuple(p for p in payload.get("to") or () if isinstance(p, str) and p),
            text=str(payload.get("text") or ""),
            data=data if isinstance(data, dict) else {},
            workflow_title=workflow_title,
        )

    @property
    def workflow(self) -> str:
        """The workflow's title as plain text (its id when no title is known)."""
        return self.workflow_title or str(self.data.get("workflow") or "") or self.workflow_id or "workflow"

    @property
    def step_title(self) -> str:
        """The step's title as plain text."""
        return str(self.data.get("title") or self.step_id or "this step")

    @property
    def who(self) -> str:
        """Who must act, as mentions."""
        return t.mentions(self.to, empty="")

    def value(self, **extra: Any) -> str:
        """A button value naming this run and step."""
        return a.action_value(self.run_id, self.step_id, **extra)

    def where(self) -> str:
        """A context line naming the workflow and the run (escaped mrkdwn)."""
        return f"{t.escape(self.workflow)} · run `{t.escape(self.run_id)}`"
