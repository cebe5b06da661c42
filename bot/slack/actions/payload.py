"""A button click as plain, typed data; anything else is refused before a listener sees it.

Slack signs what it sends, but a payload can still carry shapes our listeners do not expect
(a value edited by hand in a message, a client's bug): every field is checked for its type
here, once, so the listeners only ever see `Click`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.blocks.actions import parse_action_value
from bot.usecases.reads import plain_id


@dataclass(frozen=True)
class Click:
    user: str
    action_id: str
    action_ts: str
    channel: str | None  # None when clicked outside a channel (App Home)
    trigger_id: str | None
    run_id: str | None
    step_id: str | None
    choice: str | None  # a gate's route, for Decide

    @property
    def where(self) -> str | None:
        """Where a private note goes: an ephemeral in the channel, or a DM from App Home."""
        return self.channel


def is_block_actions(body: dict[str, Any]) -> bool:
    return body.get("type") == "block_actions"


def _user_id(body: dict[str, Any]) -> Any:
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else None


def problem(body: dict[str, Any]) -> str | None:
    """What makes a `block_actions` payload unreadable, or None."""
    if not isinstance(_user_id(body), str) or not _user_id(body):
        return "no user"
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "no actions"
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            return "an action without an action_id"
        if not isinstance(action.get("block_id", ""), str):
            return "an action with a block_id that is not text"
    for key in ("channel", "container", "team"):
        if body.get(key) is not None and not isinstance(body.get(key), dict):
            return f"`{key}` is not an object"
    return None


def read_click(body: dict[str, Any], action: dict[str, Any]) -> Click:
    """The click in a payload `problem` accepted. Values that are not what our buttons carry
    (tampered JSON, wrong types) become None: the click is then about nothing."""
    channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
    value = action.get("value")
    data = parse_action_value(value if isinstance(value, str) else None)
    trigger = body.get("trigger_id")
    choice = data.get("choice")
    return Click(
        user=_user_id(body),
        action_id=action["action_id"],
        action_ts=str(action.get("action_ts") or ""),
        channel=plain_id(channel.get("id")),
        trigger_id=trigger if isinstance(trigger, str) and trigger else None,
        run_id=plain_id(data.get("run_id")),
        step_id=plain_id(data.get("step_id")),
        choice=choice if isinstance(choice, str) else None,
    )
