"""What appeared in the local Slack since the last look, as terminal text: new messages and
edited ones (with where they are: channel, thread, DM), and private notes.

Each shown item is kept as plain text too, so `:expect` checks what a person read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.shell.render import Names, Numbering, Style, message_lines, mrkdwn
from bot.shell.workspace import ShellWorkspace

RULE = "─"


@dataclass
class Shown:
    """One thing on screen: its heading and body, as styled lines and as plain text."""

    lines: list[str]
    plain: str


@dataclass
class Screen:
    workspace: ShellWorkspace
    names: Names
    style: Style
    numbering: Numbering
    now: Callable[[], datetime]
    tz: Callable[[], str]
    _versions: dict[tuple[str, str], str] = field(default_factory=dict)
    _privates_seen: int = 0

    def news(self) -> list[Shown]:
        """Everything new or changed since the last call, oldest first."""
        shown: list[Shown] = []
        for channel in self.workspace.conversation_ids():
            messages = self.workspace.messages(channel)
            parents = {m["ts"]: m for m in messages}
            for message in messages:
                if message.get("user") != self.workspace.bot_user_id:
                    self._versions.setdefault((channel, message["ts"]), "person")
                    continue  # people's own messages are shown as they type them
                version = json.dumps([message.get("text"), message.get("blocks")], sort_keys=True)
                key = (channel, message["ts"])
                before = self._versions.get(key)
                if before == version:
                    continue
                self._versions[key] = version
                parent = parents.get(message.get("thread_ts") or "")
                heading = self._where(channel, parent if parent is not message else None, edited=before is not None)
                shown.append(self._item(heading, message, {"channel": channel, "message_ts": message["ts"]}))
        for private in self.workspace.privates[self._privates_seen:]:
            heading = f"{self._place(private.channel)} · only @{self.names.user(private.user)} sees this"
            shown.append(self._item(heading, {"text": private.text, "blocks": private.blocks}, None))
        self._privates_seen = len(self.workspace.privates)
        return shown

    def view(self, title: str, view: dict[str, Any], numbered: bool) -> Shown:
        """A modal or App Home; its buttons are numbered when they can be pressed."""
        where = {"view": view} if numbered else None
        return self._item(title, {"blocks": [b for b in view.get("blocks") or [] if b.get("type") != "input"]}, where)

    # --- pieces -----------------------------------------------------------------------------
    def _item(self, heading: str, message: dict[str, Any], where: dict[str, Any] | None) -> Shown:
        first = self.numbering.next_number
        body = message_lines(message, self.names, self.style, self.numbering if where is not None else None,
                             where or {})
        plain_body = message_lines(message, self.names, Style(), None, {})
        for number in range(first, self.numbering.next_number):
            self.numbering.buttons[number].context = "\n".join(plain_body)
        stamp = self.now().astimezone(ZoneInfo(self.tz())).strftime("%a %d %b %H:%M")
        top = f"{RULE * 2} {heading} {RULE * 2} {stamp}"
        return Shown([self.style.dim(top)] + ["  " + line for line in body],
                     "\n".join([heading] + plain_body))

    def _place(self, channel: str) -> str:
        user = self.workspace.is_direct(channel)
        if user:
            return f"DM @{self.names.user(user)}"
        return "#" + self.names.channel(channel)

    def _where(self, channel: str, parent: dict[str, Any] | None, *, edited: bool) -> str:
        place = self._place(channel)
        if parent is not None:
            first = mrkdwn((parent.get("text") or "").splitlines()[0] if parent.get("text") else "",
                           self.names, Style())
            place += f" › thread “{first[:48]}”"
        return place + (" · updated" if edited else "")
