"""Buttons: each acknowledges at once, then opens a form or applies the event to the run.

Whether the person may do it is the engine's decision; a refusal comes back to them privately
(and is audited by the engine). A payload our listeners could not read is answered 400 before
they run (`payload.problem`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.runtime import Runtime
from bot.slack.acks import acknowledge
from bot.slack.actions.payload import Click, is_block_actions, problem, read_click
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.blocks.text import escape
from bot.slack.lookup import PayloadGuard, StepContext, step_context, tell_privately

log = logging.getLogger("conductor.slack")


def tell(client: WebClient, click: Click, text: str) -> None:
    """A private note to whoever clicked: ephemeral in the channel, or a DM from App Home."""
    tell_privately(client, click.user, text, click.channel)


def explain(client: WebClient, click: Click, result: Any) -> None:
    if result.status == "refused":
        tell(client, click, f"Not done: {escape(result.reason)}.")


def register(app: App, runtime: Runtime) -> None:
    service = runtime.service
    app.use(PayloadGuard("block action", is_block_actions, problem))

    def clicked(action_id: str):
        def decorator(handler):
            def listener(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
                click = read_click(body, action)
                try:
                    context = step_context(runtime, click.run_id, click.step_id)
                    if context is None or context.step is None:
                        tell(client, click, "That run or step no longer exists.")
                        return
                    key = f"action:{click.user}:{click.action_ts}:{action_id}"
                    handler(click, context, client, key)
                except Exception:  # noqa: BLE001 - never a traceback to a person
                    log.exception("button %s failed", action_id)
                    tell(client, click, "Something went wrong on our side; it has been logged.")

            listener.__name__ = handler.__name__
            app.action(action_id)(ack=acknowledge, lazy=[listener])
            return handler

        return decorator

    def open_form(client: WebClient, click: Click, view: dict[str, Any]) -> None:
        if click.trigger_id is None:  # Slack sends one with every click; without it no form can open
            tell(client, click, "That form cannot be opened from here; use the button in the run's thread.")
            return
        try:
            client.views_open(trigger_id=click.trigger_id, view=view)
        except SlackApiError as exc:  # most often the trigger expired (Slack allows 3 s): click again
            log.warning("could not open a form for %s: %s", click.user, exc.response.get("error"))
            tell(client, click, "The form could not open in time; please click again.")

    @clicked(a.SUBMIT)
    def submit(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        step = context.step
        if not step.outputs:
            explain(client, click, service.handle(context.run_id, ev.Answer(step.id, click.user, {}), key=key))
            return
        open_form(client, click, forms.step_form(context.run_id, step.id, step.title, step.outputs))

    @clicked(a.APPROVE)
    def approve(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        step = context.step
        if step.outputs:
            open_form(client, click, forms.step_form(context.run_id, step.id, step.title, step.outputs,
                                                     callback_id=a.APPROVE_FORM, submit="Approve"))
            return
        explain(client, click, service.handle(context.run_id, ev.Approve(step.id, click.user), key=key))

    @clicked(a.REJECT)
    def reject(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        open_form(client, click, forms.reject_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.DECIDE)
    def decide(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        if click.choice is None:
            tell(client, click, "Choose in the run's thread, where the choices are.")
            return
        explain(client, click, service.handle(context.run_id, ev.Decide(context.step.id, click.user, click.choice), key=key))

    @clicked(a.REASSIGN)
    def reassign(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        open_form(client, click, forms.reassign_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.HELP)
    def need_help(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        result = service.ask_for_help(context.run_id, context.step.id, click.user, key=key)
        tell(client, click, "Asked for help in the run's thread." if result.accepted else f"Not done: {escape(result.reason)}.")

    @clicked(a.RETRY)
    def retry(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        explain(client, click, service.handle(context.run_id, ev.RetryNow(context.step.id, click.user), key=key))

    @clicked(a.SKIP)
    def skip(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        explain(client, click, service.handle(context.run_id, ev.Skip(context.step.id, click.user), key=key))

    @clicked(a.TAKE_OVER)
    def take_over(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        step = context.step
        open_form(client, click, forms.step_form(context.run_id, step.id, f"Take over: {step.title}", step.outputs,
                                                 callback_id=a.TAKE_OVER_FORM, submit="Complete"))

    @clicked(a.ABORT)
    def abort(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        explain(client, click, service.handle(context.run_id, ev.Abort(click.user), key=key))

    @clicked(a.STANDUP_ANSWER)
    def standup_answer(click: Click, context: StepContext, client: WebClient, key: str) -> None:
        step = context.step
        if not isinstance(step, StandupStep):
            return
        mine = context.state.steps[step.id].answers.get(click.user)
        open_form(client, click, forms.standup_form(step.questions, run_id=context.run_id, step_id=step.id,
                                                    title=step.title, initial=mine))
