"""Form submissions. The engine checks the answer; a field it refuses is shown next to the
field (`response_action: errors`) and the form stays open, so nothing typed is lost.
A payload our listeners could not read is answered 400 before they run (`payload.problem`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.definitions.four_questions import recommend
from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.engine.versions import UnknownWorkflow
from bot.runtime import Runtime
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.blocks.text import escape
from bot.slack.lookup import PayloadGuard, step_context, tell_privately
from bot.slack.views.payload import Submission, carries_view, problem, read_submission

log = logging.getLogger("conductor.slack")
Answer = tuple[dict[str, str] | None, str | None]  # (errors to show by the fields, a note to DM)


def field_errors(result: Any, fields: dict[str, Any]) -> dict[str, str] | None:
    """Errors to show in the form, or None when the answer was taken (or cannot be shown there)."""
    if result.status != "refused":
        return None
    if result.field_errors:
        known = {name: why for name, why in result.field_errors.items() if name in fields}
        if known:
            return {name: why[:150] for name, why in known.items()}
    if fields:
        return {next(iter(fields)): result.reason[:150]}
    return None


def register(app: App, runtime: Runtime) -> None:
    service = runtime.service
    app.use(PayloadGuard("form submission", carries_view, problem))

    def submitted(callback_id: str):
        def decorator(handler):
            def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
                form = read_submission(body, view)
                try:
                    errors, note = handler(form)
                except Exception:  # noqa: BLE001 - never a traceback to a person
                    log.exception("form %s failed", callback_id)
                    errors, note = None, "Something went wrong on our side; it has been logged."
                if errors:
                    ack(response_action="errors", errors=errors)
                    return
                ack()
                if note:
                    tell_privately(client, form.user, note)

            listener.__name__ = handler.__name__
            app.view(callback_id)(listener)
            return handler

        return decorator

    def step_event(form: Submission, make_event, fields_of) -> Answer:
        context = step_context(runtime, form.run_id, form.step_id)
        if context is None or context.step is None:
            return None, "That run or step no longer exists."
        fields = fields_of(context.step)
        result = service.handle(context.run_id, make_event(context.step, fields), key=form.key)
        errors = field_errors(result, fields)
        if errors is None and result.status == "refused":
            return None, f"Not done: {escape(result.reason)}."
        return errors, None

    def step_form(callback_id: str, build, fields_of=lambda step: step.outputs):
        @submitted(callback_id)
        def handler(form: Submission) -> Answer:
            return step_event(form, lambda step, fields: build(step, form.user, forms.parse_form_values(form.values, fields)),
                              fields_of)

        handler.__name__ = f"on_{callback_id}"
        return handler

    step_form(a.STEP_FORM, lambda step, user, values: ev.Answer(step.id, user, values))
    step_form(a.APPROVE_FORM, lambda step, user, values: ev.Approve(step.id, user, values))
    step_form(a.TAKE_OVER_FORM, lambda step, user, values: ev.TakeOver(step.id, user, values))
    step_form(a.REJECT_FORM, lambda step, user, values: ev.Reject(step.id, user, values.get("reason", "")),
              fields_of=lambda step: forms.REJECT_FIELDS)
    step_form(a.REASSIGN_FORM, lambda step, user, values: ev.Reassign(step.id, user, values.get("assignee", "")),
              fields_of=lambda step: forms.REASSIGN_FIELDS)
    step_form(a.STANDUP_FORM, lambda step, user, values: ev.StandupAnswer(step.id, user, values),
              fields_of=lambda step: forms.standup_fields(step.questions) if isinstance(step, StandupStep) else {})

    @submitted(a.START_FORM)
    def on_start(form: Submission) -> Answer:
        workflow_id = form.workflow_id or ""
        try:
            fields = runtime.versions.current(workflow_id).workflow.inputs
        except UnknownWorkflow:  # unloaded since the form opened, or a tampered form
            return None, f"Could not start: `{escape(workflow_id)}` is not a workflow I know."
        inputs = {**form.given, **forms.parse_form_values(form.values, fields)}
        result = service.start(workflow_id, form.user, inputs, key=form.key)
        errors = field_errors(result, {k: v for k, v in fields.items() if k not in form.given})
        if errors:
            return errors, None
        if result.accepted:
            return None, f"Started `{workflow_id}` as run `{result.run_id}`."
        return None, f"Could not start `{workflow_id}`: {escape(result.reason)}."

    @submitted(a.DIAGNOSE_FORM)
    def on_diagnose(form: Submission) -> Answer:
        answers = forms.parse_form_values(form.values, forms.DIAGNOSE_FIELDS)
        advice = recommend(**{name: bool(answers.get(name)) for name in forms.DIAGNOSE_FIELDS})
        return None, f"*Recommendation: {advice.label}*\n{advice.reason}"
