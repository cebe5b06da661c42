"""Events: a plain reply in a run's thread, a DM answering a stand-up, and opening the App Home.

A reply that answers a step is decided before Slack has its answer (see `bot.slack.acks`), so
a reply Slack got 200 for is never lost to a process killed a moment later; a refusal is
explained to the person afterwards. Opening the App Home changes nothing: it is answered at
once and the Home is published afterwards. A payload our listeners could not read is
answered 400 before they run (`payload.problem`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.definitions.steps import TaskStep
from bot.engine import events as ev
from bot.engine.permissions import is_member
from bot.engine.queries import board, needing_attention, waiting_on
from bot.engine.state import StepStatus
from bot.runtime import Runtime
from bot.slack.acks import Later, acknowledge, decide_now_tell_later
from bot.slack.blocks.home import render_home
from bot.slack.events.payload import Reply, home_user, is_event_callback, problem, read_reply
from bot.slack.lookup import PayloadGuard, run_by_thread, step_context

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
    app.use(PayloadGuard("event", is_event_callback, problem))

    def decide_reply(reply: Reply) -> Later:
        if reply.direct:
            return standup_dm(reply)
        run_id = run_by_thread(runtime, reply.channel, reply.thread_ts or "")
        found = reply_answer(runtime, run_id, reply.user, reply.text) if run_id is not None else None
        if found is None:
            return Later()  # chatter in a thread, or in a run that waits on nobody's reply
        run, step_id, outputs = found
        result = runtime.service.handle(run, ev.Answer(step_id, reply.user, outputs), key=reply.key)
        return Later.explaining(reply, result, "Not taken: {}.")

    def standup_dm(reply: Reply) -> Later:
        """A DM reply answers the person's next stand-up question (their oldest open stand-up)."""
        with runtime.sessions() as session:
            open_standups = [w for w in waiting_on(session, runtime.versions, runtime.service.directory, reply.user)
                             if w.kind == "standup"]
        if not open_standups:
            return Later()
        item = open_standups[0]  # oldest first
        result = runtime.service.handle(item.run_id, ev.StandupReply(item.step_id, reply.user, reply.text), key=reply.key)
        return Later.explaining(reply, result, "Not taken: {}. Try again.")

    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        user = home_user(event)
        if user is None:
            return
        with runtime.sessions() as session:
            view = render_home(
                waiting_on(session, runtime.versions, runtime.service.directory, user),
                board(session, runtime.versions),
                needing_attention(session, runtime.versions),
            )
        try:
            client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:  # the next opening publishes it again
            log.warning("could not publish the App Home of %s: %s", user, exc.response.get("error"))

    # Edits, joins, the bot's own messages and chatter outside threads read as None: not answers.
    decide_now_tell_later(app.event("message"), "a reply", lambda body: read_reply(body, body["event"]), decide_reply)
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
