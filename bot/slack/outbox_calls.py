"""The Slack calls of one outbox row: the channel id it goes to, what it says (rendered from
its run as the run is when sent), the post or edit itself, and the search for a post whose
answer never came. A part of `bot.slack.messenger.Messenger` (whose rules its module
describes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select

from bot.engine.queries import keep_state, kept_state
from bot.engine.versions import WorkflowVersions
from bot.slack.channel_names import ChannelNames, is_name
from bot.slack.sent_lookup import find_posted, metadata_for
from bot.store.models import Run

RUNS = Run.__table__


class SlackCalls:
    engine: Engine
    client: WebClient
    versions: WorkflowVersions
    render: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
    names: ChannelNames
    dm_channels: dict[str, str]
    _covered: dict[int, int]
    _newest_update: Callable[[str | None, int], int]
    _learn: Callable[[str, str], None]

    def _channel_id(self, channel: str) -> str:
        """Slack's id for a row's channel: a `#name` resolved, a user's DM as the user (a post
        to a user id lands in the bot's DM with them; its id comes back in the answer)."""
        if not is_name(channel):
            return channel
        known = self.names.id_for(channel)
        if known:
            self._learn(channel, known)
        return known or channel  # not listed for the bot: Slack decides whether the name posts

    def _prepare(self, row: Any) -> dict[str, Any]:
        """The call to make for a row: its channel id, thread and rendered content."""
        payload = dict(row["payload"])
        if row["kind"] == "update":
            # The header shows the run as it is when read, which covers every update written
            # before: read which those are first, so that one edit stands for all of them.
            self._covered[row["id"]] = self._newest_update(row["run_id"], row["id"])
        context = self._run_context(payload.get("run_id"))
        rendered = self.render(payload, context)
        if row["kind"] == "update":
            if not context.get("thread_ts"):
                raise SlackApiError("the run has no header yet", {"ok": False, "error": "header_not_posted"})
            return {"channel": self._channel_id(context["channel_id"]), "ts": context["thread_ts"], **rendered}
        thread_ts = None
        channel = self.dm_channels.get(row["channel"], row["channel"]) if row["kind"] == "dm" else row["channel"]
        if row["thread_key"] and payload.get("kind") != "run_started":
            thread_ts = context.get("thread_ts")
            channel = context.get("channel_id") or channel
        return {"channel": self._channel_id(channel), "thread_ts": thread_ts,
                "metadata": metadata_for(row["dedupe_key"]), "unfurl_links": False, **rendered}

    def _call(self, row: Any, prepared: dict[str, Any]) -> tuple[str, str | None]:
        if row["kind"] == "update":
            response = self.client.chat_update(**prepared)
            return response["ts"], None
        response = self.client.chat_postMessage(**prepared)
        answered = response.get("channel")
        if answered and row["kind"] == "dm":
            self.dm_channels[row["channel"]] = answered
        elif answered and is_name(row["channel"]):
            self._learn(row["channel"], answered)
        return response["ts"], answered

    def _dm_channel(self, user: str) -> str:
        if user not in self.dm_channels:
            self.dm_channels[user] = self.client.conversations_open(users=user)["channel"]["id"]
        return self.dm_channels[user]

    def _run_context(self, run_id: str | None) -> dict[str, Any]:
        """The run a message belongs to, as renderers read it. Its state is parsed once per
        version (a stand-up's state names every participant, and each of their prompts reads
        it): kept states are shared, and renderers only read them."""
        if not run_id:
            return {}
        with self.engine.connect() as conn:
            run = conn.execute(
                select(RUNS.c.lock_version, RUNS.c.workflow_version_id, RUNS.c.thread_ts, RUNS.c.channel)
                .where(RUNS.c.id == run_id)
            ).one_or_none()
            if run is None:
                return {}
            state = kept_state(run_id, run.lock_version)
            if state is None:
                raw = conn.execute(select(RUNS.c.lock_version, RUNS.c.state).where(RUNS.c.id == run_id)).one()
                state = keep_state(run_id, raw.lock_version, raw.state)
            workflow = self.versions.by_row(conn, run.workflow_version_id).workflow
        return {"workflow": workflow, "state": state, "run_id": run_id,
                "thread_ts": run.thread_ts, "channel_id": run.channel}

    def _find_sent(self, row: Any) -> str | None:
        """The ts of the message carrying this row's key, if Slack already has it (raises
        when Slack cannot be asked)."""
        oldest = f"{(row['created_at'] - timedelta(minutes=1)).timestamp():.6f}"
        context = self._run_context(row["run_id"]) if row["thread_key"] else {}
        if context.get("thread_ts") and row["payload"].get("kind") != "run_started":
            return find_posted(self.client, channel=self._channel_id(context["channel_id"]), key=row["dedupe_key"],
                               oldest=oldest, thread_ts=context["thread_ts"])
        channel = self._dm_channel(row["channel"]) if row["kind"] == "dm" else self._channel_id(row["channel"])
        if is_name(channel):
            raise SlackApiError("no id for the channel", {"ok": False, "error": "channel_not_found"})
        return find_posted(self.client, channel=channel, key=row["dedupe_key"], oldest=oldest)
