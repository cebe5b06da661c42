"""Form submissions. The engine checks the answer; a field it refuses is shown next to the
field (`response_action: errors`) and the form stays open, so nothing typed is lost."""

from __future__ import annotations

import hashlib
import json

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.definitions.four_questions import recommend
from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.runtime import Runtime
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.lookup import step_context

log = logging.getLogger("conductor.slack")


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

    def submitted(callback_id: str):
        def decorator(handler):
            def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
                meta = a.parse_metadata(view.get("private_metadata"))
                user = body["user"]["id"]
                # Slack re-sends a submission with the same values; a person correcting a
                # refused form sends the same view (same id and hash) with other values.
                values = json.dumps(view.get("state", {}).get("values"), sort_keys=True, default=str)
                key = f"view:{view.get('id')}:{view.get('hash')}:{hashlib.sha256(values.encode()).hexdigest()[:16]}"
                try:
                    errors, note = handler(meta, view["state"]["values"], user, key)
                except Exception:  # noqa: BLE001 - never a traceback to a person
                    log.exception("form %s failed", callback_id)
                    errors, note = None, "Something went wrong on our side; it has been logged."
                if errors:
                    ack(response_action="errors", errors=errors)
                    return
                ack()
                if note:
                    client.chat_postMessage(channel=user, text=note)

            listener.__name__ = handler.__name__
            app.view(callback_id)(listener)
            return handler

        return decorator

    def step_event(meta: dict[str, Any], make_event, fields_of) -> tuple[dict[str, str] | None, str | None]:
        context = step_context(runtime, meta.get("run_id"), meta.get("step_id"))
        if context is None or context.step is None:
            return None, "That run or step no longer exists."
        fields = fields_of(context.step)
        result = service.handle(context.run_id, make_event(context.step, fields), key=meta.get("_key"))
        errors = field_errors(result, fields)
        if errors is None and result.status == "refused":
            return None, f"Not done: {result.reason}."
        return errors, None

    def form(callback_id: str, build, fields_of=lambda step: step.outputs):
        @submitted(callback_id)
        def handler(meta, values, user, key):
            meta = {**meta, "_key": key}
            return step_event(meta, lambda step, fields: build(step, user, forms.parse_form_values(values, fields)), fields_of)

        handler.__name__ = f"on_{callback_id}"
        return handler

    form(a.STEP_FORM, lambda step, user, values: ev.Answer(step.id, user, values))
    form(a.APPROVE_FORM, lambda step, user, values: ev.Approve(step.id, user, values))
    form(a.TAKE_OVER_FORM, lambda step, user, values: ev.TakeOver(step.id, user, values))
    form(a.REJECT_FORM, lambda step, user, values: ev.Reject(step.id, user, values.get("reason", "")),
         fields_of=lambda step: forms.REJECT_FIELDS)
    form(a.REASSIGN_FORM, lambda step, user, values: ev.Reassign(step.id, user, values.get("assignee", "")),
         fields_of=lambda step: forms.REASSIGN_FIELDS)
    form(a.STANDUP_FORM, lambda step, user, values: ev.StandupAnswer(step.id, user, values),
         fields_of=lambda step: forms.standup_fields(step.questions) if isinstance(step, StandupStep) else {})

    @submitted(a.START_FORM)
    def on_start(meta, values, user, key):
        workflow_id = meta.get("workflow_id", "")
        fields = runtime.versions.current(workflow_id).workflow.inputs
        inputs = {**(meta.get("given") or {}), **forms.parse_form_values(values, fields)}
        result = service.start(workflow_id, user, inputs, key=key)
        errors = field_errors(result, {k: v for k, v in fields.items() if k not in (meta.get("given") or {})})
        if errors:
            return errors, None
        if result.accepted:
            return None, f"Started `{workflow_id}` as run `{result.run_id}`."
        return None, f"Could not start `{workflow_id}`: {result.reason}."

    @submitted(a.DIAGNOSE_FORM)
    def on_diagnose(meta, values, user, key):
        answers = forms.parse_form_values(values, forms.DIAGNOSE_FIELDS)
        advice = recommend(**{name: bool(answers.get(name)) for name in forms.DIAGNOSE_FIELDS})
        return None, f"*Recommendation: {advice.label}*\n{advice.reason}"
