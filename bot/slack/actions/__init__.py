"""Buttons. The engine decides before Slack has its answer (see `bot.slack.acks`): a click
Slack got 200 for is never lost to a process killed a moment later. What is left goes on
afterwards: a private note explaining a refusal, or the form a button opens (a form changes
nothing until it is submitted).

Whether the person may do it is the engine's decision; a refusal comes back to them privately
(and is audited by the engine). A payload our listeners could not read is answered 400 before
they run (`payload.problem`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.definitions.steps import StandupStep
from bot.engine import events as ev
from bot.runtime import Runtime
from bot.slack.acks import Later, decide_now_tell_later
from bot.slack.actions.payload import Click, is_block_actions, problem, read_click
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.lookup import PayloadGuard, StepContext, step_context

Handler = Callable[[Click, StepContext, str], Later]  # (click, what it is about, idempotency key)


def open_form(click: Click, view: dict[str, Any]) -> Later:
    if click.trigger_id is None:  # Slack sends one with every click; without it no form can open
        return Later.telling(click, "That form cannot be opened from here; use the button in the run's thread.")
    return Later.opening(click, click.trigger_id, view, "The form could not open in time; please click again.")


def read(body: dict[str, Any]) -> Click:
    return read_click(body, body["actions"][0])  # Bolt's `action`: `payload.problem` made sure it is there


def register(app: App, runtime: Runtime) -> None:
    service = runtime.service
    app.use(PayloadGuard("block action", is_block_actions, problem))

    def clicked(action_id: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            def decide_click(click: Click) -> Later:
                context = step_context(runtime, click.run_id, click.step_id)
                if context is None or context.step is None:
                    return Later.telling(click, "That run or step no longer exists.")
                return handler(click, context, f"action:{click.user}:{click.action_ts}:{action_id}")

            decide_now_tell_later(app.action(action_id), f"button {action_id}", read, decide_click)
            return handler

        return decorator

    @clicked(a.SUBMIT)
    def submit(click: Click, context: StepContext, key: str) -> Later:
        step = context.step
        if not step.outputs:
            return Later.explaining(click, service.handle(context.run_id, ev.Answer(step.id, click.user, {}),
                                                          key=key))
        return open_form(click, forms.step_form(context.run_id, step.id, step.title, step.outputs))

    @clicked(a.APPROVE)
    def approve(click: Click, context: StepContext, key: str) -> Later:
        step = context.step
        if step.outputs:
            return open_form(click, forms.step_form(context.run_id, step.id, step.title, step.outputs,
                                                    callback_id=a.APPROVE_FORM, submit="Approve"))
        return Later.explaining(click, service.handle(context.run_id, ev.Approve(step.id, click.user), key=key))

    @clicked(a.REJECT)
    def reject(click: Click, context: StepContext, key: str) -> Later:
        return open_form(click, forms.reject_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.DECIDE)
    def decide(click: Click, context: StepContext, key: str) -> Later:
        if click.choice is None:
            return Later.telling(click, "Choose in the run's thread, where the choices are.")
        event = ev.Decide(context.step.id, click.user, click.choice)
        return Later.explaining(click, service.handle(context.run_id, event, key=key))

    @clicked(a.REASSIGN)
    def reassign(click: Click, context: StepContext, key: str) -> Later:
        return open_form(click, forms.reassign_form(context.run_id, context.step.id, context.step.title))

    @clicked(a.HELP)
    def need_help(click: Click, context: StepContext, key: str) -> Later:
        result = service.ask_for_help(context.run_id, context.step.id, click.user, key=key)
        if result.accepted:
            return Later.telling(click, "Asked for help in the run's thread.")
        return Later.explaining(click, result)

    @clicked(a.RETRY)
    def retry(click: Click, context: StepContext, key: str) -> Later:
        event = ev.RetryNow(context.step.id, click.user)
        return Later.explaining(click, service.handle(context.run_id, event, key=key))

    @clicked(a.SKIP)
    def skip(click: Click, context: StepContext, key: str) -> Later:
        return Later.explaining(click, service.handle(context.run_id, ev.Skip(context.step.id, click.user), key=key))

    @clicked(a.TAKE_OVER)
    def take_over(click: Click, context: StepContext, key: str) -> Later:
        step = context.step
        return open_form(click, forms.step_form(context.run_id, step.id, f"Take over: {step.title}", step.outputs,
                                                callback_id=a.TAKE_OVER_FORM, submit="Complete"))

    @clicked(a.ABORT)
    def abort(click: Click, context: StepContext, key: str) -> Later:
        return Later.explaining(click, service.handle(context.run_id, ev.Abort(click.user), key=key))

    @clicked(a.STANDUP_ANSWER)
    def standup_answer(click: Click, context: StepContext, key: str) -> Later:
        step = context.step
        if not isinstance(step, StandupStep):
            return Later()
        mine = context.state.steps[step.id].answers.get(click.user)
        return open_form(click, forms.standup_form(step.questions, run_id=context.run_id, step_id=step.id,
                                                   title=step.title, initial=mine))
