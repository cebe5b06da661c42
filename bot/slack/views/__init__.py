"""Form submissions. The engine checks the answer; a field it refuses is shown next to the
field (`response_action: errors`) and the form stays open, so nothing typed is lost.
A payload our listeners could not read is answered 400 before they run (`payload.problem`).

One function per form: it reads the values and calls a use case."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.definitions.four_questions import recommend
from bot.definitions.steps import StandupStep
from bot.slack.acks import DOORS
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.blocks.text import escape
from bot.slack.lookup import PayloadGuard, tell_privately
from bot.slack.views.payload import Submission, carries_view, problem, read_submission
from bot.usecases import UseCases
from bot.usecases.reads import StepContext
from bot.usecases.results import Accepted, Decision, Refused

log = logging.getLogger("conductor.slack")
Answer = tuple[dict[str, str] | None, str | None]  # (errors to show by the fields, a note to DM)
FormHandler = Callable[[Submission, UseCases], Answer]
StepCase = Callable[[UseCases, StepContext, Submission, dict[str, Any]], Decision]


def field_errors(decided: Decision, fields: dict[str, Any]) -> dict[str, str] | None:
    """Errors to show in the form, or None when the answer was taken (or cannot be shown there)."""
    if not isinstance(decided, Refused):
        return None
    known = {name: why for name, why in decided.field_errors.items() if name in fields}
    if known:
        return {name: why[:150] for name, why in known.items()}
    if fields:
        return {next(iter(fields)): decided.text[:150]}
    return None


def answered(handler: FormHandler) -> Callable[..., None]:
    """The Bolt listener of a form: errors go back into the form, a note to the person."""

    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                 context: BoltContext) -> None:
        form = read_submission(body, view)
        try:
            errors, note = handler(form, context[DOORS])
        except Exception:
            log.exception("form %s failed", form.callback_id)
            errors, note = None, "Something went wrong on our side; it has been logged."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if note:
            tell_privately(client, form.user, note)

    return listener


def step_form(case: StepCase, fields_of: Callable[[Any], dict[str, Any]] = lambda step: step.outputs) -> FormHandler:
    """A form about one step: its values parsed against the step's fields, then `case`."""

    def handler(form: Submission, doors: UseCases) -> Answer:
        context = doors.step(form.run_id, form.step_id)
        if context is None or context.step is None:
            return None, "That run or step no longer exists."
        fields = fields_of(context.step)
        decided = case(doors, context, form, forms.parse_form_values(form.values, fields))
        errors = field_errors(decided, fields)
        if errors is None and isinstance(decided, Refused):
            return None, f"Not done: {escape(decided.text)}."
        return errors, None

    return handler


def on_start(form: Submission, doors: UseCases) -> Answer:
    workflow_id = form.workflow_id or ""
    fields = doors.start_inputs(workflow_id)
    if fields is None:  # unloaded since the form opened, or a tampered form
        return None, f"Could not start: `{escape(workflow_id)}` is not a workflow I know."
    filled = forms.parse_form_values(form.values, fields)
    decided = doors.start_from_form(workflow_id, form.user, form.given, filled, key=form.key)
    errors = field_errors(decided, {k: v for k, v in fields.items() if k not in form.given})
    if errors:
        return errors, None
    if isinstance(decided, Accepted):
        return None, f"Started `{escape(workflow_id)}` as run `{decided.run_id}`."
    if isinstance(decided, Refused):
        return None, f"Could not start `{escape(workflow_id)}`: {escape(decided.text)}."
    return None, None


def on_diagnose(form: Submission, doors: UseCases) -> Answer:
    answers = forms.parse_form_values(form.values, forms.DIAGNOSE_FIELDS)
    advice = recommend(**{name: bool(answers.get(name)) for name in forms.DIAGNOSE_FIELDS})
    return None, f"*Recommendation: {advice.label}*\n{advice.reason}"


def _standup_fields(step: Any) -> dict[str, Any]:
    return forms.standup_fields(step.questions) if isinstance(step, StandupStep) else {}


FORMS: dict[str, FormHandler] = {
    a.STEP_FORM: step_form(lambda d, c, f, v: d.answer(c.run_id, c.step.id, f.user, v, key=f.key)),
    a.APPROVE_FORM: step_form(lambda d, c, f, v: d.approve(c.run_id, c.step.id, f.user, v, key=f.key)),
    a.TAKE_OVER_FORM: step_form(lambda d, c, f, v: d.take_over(c.run_id, c.step.id, f.user, v, key=f.key)),
    a.REJECT_FORM: step_form(lambda d, c, f, v: d.reject(c.run_id, c.step.id, f.user, v.get("reason", ""), key=f.key),
                             fields_of=lambda step: forms.REJECT_FIELDS),
    a.REASSIGN_FORM: step_form(
        lambda d, c, f, v: d.reassign(c.run_id, c.step.id, f.user, v.get("assignee", ""), key=f.key),
        fields_of=lambda step: forms.REASSIGN_FIELDS),
    a.STANDUP_FORM: step_form(lambda d, c, f, v: d.answer_standup(c.run_id, c.step.id, f.user, v, key=f.key),
                              fields_of=_standup_fields),
    a.START_FORM: on_start,
    a.DIAGNOSE_FORM: on_diagnose,
}


def register(app: App) -> None:
    app.use(PayloadGuard("form submission", carries_view, problem))
    for callback_id, handler in FORMS.items():
        app.view(callback_id)(answered(handler))
