"""Starting runs and acting on their steps: every button, form and command that moves a run.

Each is an engine event applied once under its key; the engine decides who may (and audits
both ways), so these only name the event."""

from __future__ import annotations

from typing import Any

from bot.engine import events as ev
from bot.engine.versions import UnknownWorkflow
from bot.usecases.base import Base
from bot.usecases.results import Decision, NeedsInputs, Refused, decision_of


class RunCases(Base):
    # --- starting ----------------------------------------------------------------------------
    def start(self, workflow_id: str, actor: str | None, inputs: dict[str, Any], *, key: str,
              channel: str | None = None) -> Decision:
        """Start a run (a person, or the system when `actor` is None) with these inputs."""
        return decision_of(self.service.start(workflow_id, actor, inputs, key=key, channel=channel))

    def start_by_command(self, workflow_id: str, actor: str, options: dict[str, Any], *, key: str,
                         channel: str | None = None) -> Decision | NeedsInputs:
        """`/conductor start`: a workflow that is not started by command is refused; one still
        missing required inputs asks for a form instead of starting."""
        try:
            workflow = self.versions.current(workflow_id).workflow
        except UnknownWorkflow:
            return self.start(workflow_id, actor, options, key=key, channel=channel)  # the engine refuses
        if not workflow.on.command:
            return self.refuse(actor, "Start", f"`{workflow_id}` is not started by command", workflow_id=workflow_id)
        missing = [name for name, spec in workflow.inputs.items() if spec.is_required and name not in options]
        if missing:
            return NeedsInputs(workflow.id, workflow.title, dict(workflow.inputs), dict(options))
        return self.start(workflow_id, actor, options, key=key, channel=channel)

    def webhook_trigger(self, workflow_id: str) -> Any | None:
        """The workflow's `on.webhook` (the secret its requests are signed with), or None when
        there is no such workflow or it takes no webhooks."""
        try:
            return self.versions.current(workflow_id).workflow.on.webhook
        except UnknownWorkflow:
            return None

    def start_inputs(self, workflow_id: str) -> dict[str, Any] | None:
        """The input fields of a workflow's start form (None: no such workflow any more)."""
        try:
            return dict(self.versions.current(workflow_id).workflow.inputs)
        except UnknownWorkflow:
            return None

    def start_from_form(self, workflow_id: str, actor: str, given: dict[str, Any], filled: dict[str, Any], *,
                        key: str) -> Decision:
        if self.start_inputs(workflow_id) is None:
            return Refused(f"`{workflow_id}` is not a workflow I know", "unknown_workflow")
        return self.start(workflow_id, actor, {**given, **filled}, key=key)

    # --- a step's buttons and forms ------------------------------------------------------------
    def answer(self, run_id: str, step_id: str, actor: str, outputs: dict[str, Any], *, key: str) -> Decision:
        return self._apply(run_id, ev.Answer(step_id, actor, outputs), key)

    def approve(self, run_id: str, step_id: str, actor: str, outputs: dict[str, Any] | None = None, *,
                key: str) -> Decision:
        return self._apply(run_id, ev.Approve(step_id, actor, outputs or {}), key)

    def reject(self, run_id: str, step_id: str, actor: str, reason: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Reject(step_id, actor, reason), key)

    def decide(self, run_id: str, step_id: str, actor: str, choice: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Decide(step_id, actor, choice), key)

    def reassign(self, run_id: str, step_id: str, actor: str, assignee: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Reassign(step_id, actor, assignee), key)

    def ask_for_help(self, run_id: str, step_id: str, actor: str, *, key: str) -> Decision:
        return decision_of(self.service.ask_for_help(run_id, step_id, actor, key=key))

    def retry(self, run_id: str, step_id: str, actor: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.RetryNow(step_id, actor), key)

    def skip(self, run_id: str, step_id: str, actor: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Skip(step_id, actor), key)

    def take_over(self, run_id: str, step_id: str, actor: str, outputs: dict[str, Any], *, key: str) -> Decision:
        return self._apply(run_id, ev.TakeOver(step_id, actor, outputs), key)

    def abort(self, run_id: str, actor: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Abort(actor), key)

    def cancel(self, run_id: str, actor: str, reason: str, *, key: str) -> Decision:
        return self._apply(run_id, ev.Cancel(actor, reason), key)

    def answer_standup(self, run_id: str, step_id: str, actor: str, answers: dict[str, Any], *,
                       key: str) -> Decision:
        return self._apply(run_id, ev.StandupAnswer(step_id, actor, answers), key)

    def _apply(self, run_id: str, event: ev.Event, key: str) -> Decision:
        return decision_of(self.service.handle(run_id, event, key=key))
