"""The Web API methods the local Slack answers, as Slack answers them: each `_m_<method>`
takes the call's parameters and returns the body's fields, or raises `SlackError`.

A mixin of `LocalSlack`, which holds the workspace (channels, messages, views, users) and the
HTTP side; here is only what each method does to it. People and user groups are in
`bot.localslack.people`, channels in `bot.localslack.channels`, history and threads in
`bot.localslack.history`."""

from __future__ import annotations

from typing import Any

from bot.localslack.errors import SlackError

MAX_BLOCKS, MAX_TEXT, MAX_VIEW_TITLE = 50, 40_000, 24


class WebApiMethods:
    @staticmethod
    def _check_content(params: dict[str, Any]) -> None:
        text, blocks = params.get("text"), params.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS):
            raise SlackError("invalid_blocks")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")

    @staticmethod
    def _check_view(view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        title = view.get("title")
        title = title.get("text", "") if isinstance(title, dict) else title or ""
        if len(title) > MAX_VIEW_TITLE or len(view.get("blocks") or []) > 100:
            raise SlackError("invalid_arguments")
        return view

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        if view_id is None:
            self._view_seq += 1
            view_id = f"V{self._view_seq:010d}"
        stored = {**view, "id": view_id, "team_id": self.team_id, "hash": self._next_ts()}
        self._views[view_id] = stored
        return {"view": stored}

    def _m_auth_test(self, p):
        return {"url": "https://local.slack.invalid/", "team": self.team_name, "user": self.bot_name,
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}

    def _m_apps_connections_open(self, p):
        """Socket Mode's door: the WebSocket URL of the local Socket Mode server, when one is
        attached (`socket_url`); without one, Slack's answer to a failure on its side."""
        if self.socket_url is None:
            raise SlackError("internal_error")
        return {"url": self.socket_url}

    def _m_chat_postMessage(self, p):
        channel = self._resolve(p.get("channel"))
        self._check_can_post(channel)
        self._check_rate(channel)
        if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
            raise SlackError("no_text")
        self._check_content(p)
        message = {"type": "message", "ts": self._next_ts(), "thread_ts": p.get("thread_ts"),
                   "text": p.get("text") or "", "blocks": p.get("blocks"),
                   "user": self.bot_user_id, "bot_id": self.bot_id}
        if p.get("metadata"):
            message["metadata"] = p["metadata"]
        for parent in self._messages[channel]:
            if message["thread_ts"] and parent["ts"] == message["thread_ts"]:
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
        self._messages[channel].append(message)
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _m_chat_update(self, p):
        channel = self._by_id(p.get("channel"))
        message = self._find(channel, p.get("ts"))
        self._check_content(p)
        for key in ("text", "blocks"):
            if key in p:
                message[key] = p[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": message["ts"], "text": message["text"],
                "message": dict(message)}

    def _m_chat_postEphemeral(self, p):
        self._resolve(p.get("channel"))
        if not p.get("user"):
            raise SlackError("user_not_in_channel")
        if not p.get("text") and not p.get("blocks"):
            raise SlackError("no_text")
        self._check_content(p)
        return {"message_ts": self._next_ts()}

    def _m_conversations_open(self, p):
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if len(users) != 1:  # group DMs are not faked
            raise SlackError("users_list_not_supplied")
        return {"channel": {"id": self._open_dm(users[0])}}

    def _m_views_open(self, p):
        if not p.get("trigger_id"):
            raise SlackError("invalid_trigger_id")
        return self._store_view(self._check_view(p.get("view")))

    def _m_views_update(self, p):
        view_id = p.get("view_id") or next(
            (v["id"] for v in self._views.values()
             if p.get("external_id") and v.get("external_id") == p.get("external_id")), None)
        if view_id not in self._views:
            raise SlackError("not_found")
        return self._store_view(self._check_view(p.get("view")), view_id)

    def _m_views_publish(self, p):
        if not p.get("user_id"):
            raise SlackError("invalid_arguments")
        return self._store_view(self._check_view(p.get("view")))

    def _m_reactions_add(self, p):
        message = self._find(self._by_id(p.get("channel")), p.get("timestamp"))
        name = p.get("name")
        if not name:
            raise SlackError("invalid_name")
        reactions = message.setdefault("reactions", [])
        if any(r["name"] == name for r in reactions):
            raise SlackError("already_reacted")
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}
