"""Buttons. The engine decides before Slack has its answer (see `bot.slack.acks`): a click
Slack got 200 for is never lost to a process killed a moment later. What is left goes on
afterwards: a private note explaining a refusal, or the form a button opens (a form changes
nothing until it is submitted).

One function per button: it reads what the click is about and calls a use case; whether the
person may do it is the engine's decision, and a refusal comes back to them privately (and is
audited). A payload our listeners could not read is answered 400 before they run
(`payload.problem`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.definitions.steps import StandupStep
from bot.engine import review
from bot.slack.acks import Later, decide_now_tell_later
from bot.slack.actions.payload import Click, is_block_actions, problem, read_click
from bot.slack.blocks import actions as a
from bot.slack.blocks import forms
from bot.slack.lookup import PayloadGuard
from bot.usecases import UseCases
from bot.usecases.reads import StepContext
from bot.usecases.results import Accepted

Button = Callable[[Click, StepContext, UseCases, str], Later]  # (click, what it is about, use cases, key)
FORM_LATE = "The form could not open in time; please click again."


def read(body: dict[str, Any]) -> Click:
    return read_click(body, body["actions"][0])  # Bolt's `action`: `payload.problem` made sure it is there


def open_form(click: Click, view: dict[str, Any]) -> Later:
    if click.trigger_id is None:  # Slack sends one with every click; without it no form can open
        return Later.telling(click, "That form cannot be opened from here; use the button in the run's thread.")
    return Later.opening(click, click.trigger_id, view, FORM_LATE)


def submit(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    step = context.step
    if not step.outputs:
        return Later.explaining(click, doors.answer(context.run_id, step.id, click.user, {}, key=key))
    automated = review.pending(context.state, step.id)  # a review: preset to the automation's outputs
    return open_form(click, forms.step_form(context.run_id, step.id, step.title, step.outputs, initial=automated))


def approve(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    step = context.step
    if step.outputs:
        return open_form(click, forms.step_form(context.run_id, step.id, step.title, step.outputs,
                                                callback_id=a.APPROVE_FORM, submit="Approve"))
    return Later.explaining(click, doors.approve(context.run_id, step.id, click.user, key=key))


def reject(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    return open_form(click, forms.reject_form(context.run_id, context.step.id, context.step.title))


def decide(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    if click.choice is None:
        return Later.telling(click, "Choose in the run's thread, where the choices are.")
    return Later.explaining(click, doors.decide(context.run_id, context.step.id, click.user, click.choice, key=key))


def reassign(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    return open_form(click, forms.reassign_form(context.run_id, context.step.id, context.step.title))


def need_help(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    decided = doors.ask_for_help(context.run_id, context.step.id, click.user, key=key)
    if isinstance(decided, Accepted):
        return Later.telling(click, "Asked for help in the run's thread.")
    return Later.explaining(click, decided)


def retry(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    return Later.explaining(click, doors.retry(context.run_id, context.step.id, click.user, key=key))


def skip(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    return Later.explaining(click, doors.skip(context.run_id, context.step.id, click.user, key=key))


def take_over(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    step = context.step
    return open_form(click, forms.step_form(context.run_id, step.id, f"Take over: {step.title}", step.outputs,
                                            callback_id=a.TAKE_OVER_FORM, submit="Complete"))


def abort(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    return Later.explaining(click, doors.abort(context.run_id, click.user, key=key))


def standup_answer(click: Click, context: StepContext, doors: UseCases, key: str) -> Later:
    step = context.step
    if not isinstance(step, StandupStep):
        return Later()
    mine = context.state.steps[step.id].answers.get(click.user)
    return open_form(click, forms.standup_form(step.questions, run_id=context.run_id, step_id=step.id,
                                               title=step.title, initial=mine))


BUTTONS: dict[str, Button] = {
    a.SUBMIT: submit, a.APPROVE: approve, a.REJECT: reject, a.DECIDE: decide, a.REASSIGN: reassign,
    a.HELP: need_help, a.RETRY: retry, a.SKIP: skip, a.TAKE_OVER: take_over, a.ABORT: abort,
    a.STANDUP_ANSWER: standup_answer,
}


def about_a_step(action_id: str, button: Button) -> Callable[[Click, UseCases], Later]:
    """`button`, given the run and step the click names (or told they are gone), and the
    click's key: one person's one click, applied once however often Slack delivers it."""

    def decide_click(click: Click, doors: UseCases) -> Later:
        context = doors.step(click.run_id, click.step_id)
        if context is None or context.step is None:
            return Later.telling(click, "That run or step no longer exists.")
        return button(click, context, doors, f"action:{click.user}:{click.action_ts}:{action_id}")

    return decide_click


def register(app: App) -> None:
    app.use(PayloadGuard("block action", is_block_actions, problem))
    for action_id, button in BUTTONS.items():
        decide_now_tell_later(app.action(action_id), f"button {action_id}", read, about_a_step(action_id, button))
