"""Events: a plain reply in a run's thread, a DM answering a stand-up, and opening the App Home.

A reply that answers a step is decided before Slack has its answer (see `bot.slack.acks`), so
a reply Slack got 200 for is never lost to a process killed a moment later; a refusal (the
step waits on someone else) is explained to the person afterwards. Which step a message
answers is the use cases' decision. Opening the App Home changes nothing: it is answered at
once and the Home is published afterwards. A payload our listeners could not read is
answered 400 before they run (`payload.problem`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.acks import DOORS, Later, acknowledge, decide_now_tell_later
from bot.slack.blocks.home import render_home
from bot.slack.events.payload import Reply, home_user, is_event_callback, problem, read_reply
from bot.slack.lookup import PayloadGuard
from bot.usecases import UseCases

log = logging.getLogger("conductor.slack")


def reply(message: Reply, doors: UseCases) -> Later:
    if message.direct:
        decided = doors.reply_by_dm(message.user, message.text, key=message.key)
        return Later.explaining(message, decided, "Not taken: {}. Try again.")
    decided = doors.reply_in_thread(message.channel, message.thread_ts or "", message.user, message.text,
                                    key=message.key)
    return Later.explaining(message, decided, "Not taken: {}.")


def home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    user = home_user(event)
    if user is None:
        return
    home = context[DOORS].home(user)
    try:
        insights = home.advisories if home.insight_workflows else None  # nothing for those who conduct none
        client.views_publish(user_id=user, view=render_home(home.waiting, home.board, home.attention, insights))
    except SlackApiError as exc:  # the next opening publishes it again
        log.warning("could not publish the App Home of %s: %s", user, exc.response.get("error"))


def read(body: dict[str, Any]) -> Reply | None:
    # Edits, joins, the bot's own messages and chatter outside threads read as None: not answers.
    return read_reply(body, body["event"])


def register(app: App) -> None:
    app.use(PayloadGuard("event", is_event_callback, problem))
    decide_now_tell_later(app.event("message"), "a reply", read, reply)
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
