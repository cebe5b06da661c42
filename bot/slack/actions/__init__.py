"""Buttons: each acknowledges at once, then opens a form or applies the event to the run.

Whether the person may do it is the engine's decision; a refusal comes back to them privately
(and is audited by the engine)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.runtime import Runtime
from bot.slack.acks import acknowledge
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.lookup import step_context

log = logging.getLogger("conductor.slack")


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """A private note to whoever clicked: ephemeral in the channel, or a DM from App Home."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    if channel:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        client.chat_postMessage(channel=user, text=text)


def explain(client: WebClient, body: dict[str, Any], result: Any) -> None:
    if result.status == "refused":
        tell(client, body, f"Not done: {result.reason}.")


def register(app: App, runtime: Runtime) -> None:
    service = runtime.service

    def clicked(action_id: str):
        def decorator(handler):
            def listener(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
                value = a.parse_action_value(action.get("value"))
                context = step_context(runtime, value.get("run_id"), value.get("step_id"))
                if context is None or context.step is None:
                    tell(client, body, "That run or step no longer exists.")
                    return
                key = f"action:{body['user']['id']}:{action.get('action_ts')}:{action_id}"
                try:
                    handler(body, value, context, client, key)
                except Exception:  # noqa: BLE001 - never a traceback to a person
                    log.exception("button %s failed", action_id)
                    tell(client, body, "Something went wrong on our side; it has been logged.")

            listener.__name__ = handler.__name__
            app.action(action_id)(ack=acknowledge, lazy=[listener])
            return handler

        return decorator

    def open_form(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @clicked(a.SUBMIT)
    def submit(body, value, context, client, key):
        step = context.step
        if not step.outputs:
            explain(client, body, service.handle(context.run_id, ev.Answer(step.id, body["user"]["id"], {}), key=key))
            return
        open_form(client, body, forms.step_form(context.run_id, step.id, step.title, step.outputs))

    @clicked(a.APPROVE)
    def approve(body, value, context, client, key):
        step = context.step
        if step.outputs:
            open_form(client, body, forms.step_form(context.run_id, step.id, step.title, step.outputs,
                                                    callback_id=a.APPROVE_FORM, submit="Approve"))
            return
        explain(client, body, service.handle(context.run_id, ev.Approve(step.id, body["user"]["id"]), key=key))

    @clicked(a.REJECT)
    def reject(body, value, context, client, key):
        open_form(client, body, forms.reject_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.DECIDE)
    def decide(body, value, context, client, key):
        choice = value.get("choice")
        if choice is None:
            tell(client, body, "Choose in the run's thread, where the choices are.")
            return
        explain(client, body, service.handle(context.run_id, ev.Decide(context.step.id, body["user"]["id"], choice), key=key))

    @clicked(a.REASSIGN)
    def reassign(body, value, context, client, key):
        open_form(client, body, forms.reassign_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.HELP)
    def need_help(body, value, context, client, key):
        result = service.ask_for_help(context.run_id, context.step.id, body["user"]["id"], key=key)
        tell(client, body, "Asked for help in the run's thread." if result.accepted else f"Not done: {result.reason}.")

    @clicked(a.RETRY)
    def retry(body, value, context, client, key):
        explain(client, body, service.handle(context.run_id, ev.RetryNow(context.step.id, body["user"]["id"]), key=key))

    @clicked(a.SKIP)
    def skip(body, value, context, client, key):
        explain(client, body, service.handle(context.run_id, ev.Skip(context.step.id, body["user"]["id"]), key=key))

    @clicked(a.TAKE_OVER)
    def take_over(body, value, context, client, key):
        step = context.step
        open_form(client, body, forms.step_form(context.run_id, step.id, f"Take over: {step.title}", step.outputs,
                                                callback_id=a.TAKE_OVER_FORM, submit="Complete"))

    @clicked(a.ABORT)
    def abort(body, value, context, client, key):
        explain(client, body, service.handle(context.run_id, ev.Abort(body["user"]["id"]), key=key))

    @clicked(a.STANDUP_ANSWER)
    def standup_answer(body, value, context, client, key):
        step = context.step
        if not isinstance(step, StandupStep):
            return
        mine = context.state.steps[step.id].answers.get(body["user"]["id"])
        open_form(client, body, forms.standup_form(step.questions, run_id=context.run_id, step_id=step.id,
                                                   title=step.title, initial=mine))
