"""The envelope of an outbox message, as `bot.engine.journal.write_effects` writes it: the run
and workflow it belongs to and who it names. What the message says is its typed class from
`bot.engine.messages`; renderers take both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.messages import Message, RunStarted
from bot.slack.blocks import actions as a
from bot.slack.blocks import text as t


@dataclass(frozen=True)
class Payload:
    run_id: str
    workflow_id: str
    step_id: str | None = None
    to: tuple[str, ...] = ()
    workflow_title: str | None = None
    named_workflow: str = ""  # the workflow's title as the message itself names it (run_started)

    @classmethod
    def of(cls, payload: dict[str, Any], workflow_title: str | None = None, message: Message | None = None) -> Payload:
        """The envelope of `payload`; routing fields come from its parsed `message`, if any."""
        step_id = payload.get("step_id")
        return cls(
            run_id=str(payload.get("run_id") or ""),
            workflow_id=str(payload.get("workflow_id") or ""),
            step_id=message.step_id if message is not None else (step_id if isinstance(step_id, str) else None),
            to=message.to if message is not None else (),
            workflow_title=workflow_title,
            named_workflow=message.workflow if isinstance(message, RunStarted) else "",
        )

    @property
    def workflow(self) -> str:
        """The workflow's title as plain text (its id when no title is known)."""
        return self.workflow_title or self.named_workflow or self.workflow_id or "workflow"

    def step(self, title: str) -> str:
        """The step's title as plain text (its id when the message names no title)."""
        return title or self.step_id or "this step"

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
