"""Events: a plain reply in a run's thread, and opening the App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.definitions.steps import TaskStep
from bot.engine import events as ev
from bot.engine.permissions import is_member
from bot.engine.queries import board, needing_attention, waiting_on
from bot.engine.state import StepStatus
from bot.runtime import Runtime
from bot.slack.acks import acknowledge
from bot.slack.blocks.home import render_home
from bot.slack.lookup import run_by_thread, step_context

log = logging.getLogger("conductor.slack")
TEXT_TYPES = ("text", "string")


def reply_answer(runtime: Runtime, run_id: str, user: str, text: str) -> tuple[str, str, dict[str, Any]] | None:
    """The step a thread reply completes: one of `user`'s waiting tasks whose only output is
    text (or that has no outputs). Returns (run, step, outputs), or None."""
    context = step_context(runtime, run_id, None)
    if context is None:
        return None
    for step in context.workflow.steps:
        st = context.state.steps[step.id]
        if not isinstance(step, TaskStep) or st.status != StepStatus.WAITING_ON_PERSON:
            continue
        if not is_member(user, st.assignees, runtime.service.directory):
            continue
        if not step.outputs:
            return run_id, step.id, {}
        if len(step.outputs) == 1:
            name, spec = next(iter(step.outputs.items()))
            if spec.type in TEXT_TYPES:
                return run_id, step.id, {name: text}
    return None


def register(app: App, runtime: Runtime) -> None:
    def thread_reply(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and the bot's own messages are not answers
        if event.get("channel_type") == "im" and not event.get("thread_ts"):
            standup_dm(event, body, client)
            return
        if not event.get("thread_ts"):
            return
        run_id = run_by_thread(runtime, event.get("channel", ""), event["thread_ts"])
        if run_id is None:
            return
        found = reply_answer(runtime, run_id, event["user"], event.get("text", ""))
        if found is None:
            return
        run, step_id, outputs = found
        result = runtime.service.handle(run, ev.Answer(step_id, event["user"], outputs), key=f"event:{body.get('event_id')}")
        if result.status == "refused":
            client.chat_postEphemeral(channel=event["channel"], user=event["user"], text=f"Not taken: {result.reason}.")

    def standup_dm(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """A DM reply answers the person's next stand-up question (their oldest open stand-up)."""
        user = event["user"]
        with runtime.sessions() as session:
            open_standups = [w for w in waiting_on(session, runtime.versions, runtime.service.directory, user)
                             if w.kind == "standup"]
        if not open_standups:
            return
        item = open_standups[0]  # oldest first
        result = runtime.service.handle(item.run_id, ev.StandupReply(item.step_id, user, event.get("text", "")),
                                        key=f"event:{body.get('event_id')}")
        if result.status == "refused":
            client.chat_postMessage(channel=event["channel"], text=f"Not taken: {result.reason}. Try again.")

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        with runtime.sessions() as session:
            view = render_home(
                waiting_on(session, runtime.versions, runtime.service.directory, user),
                board(session, runtime.versions),
                needing_attention(session, runtime.versions),
            )
        client.views_publish(user_id=user, view=view)

    app.event("message")(ack=acknowledge, lazy=[thread_reply])
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
