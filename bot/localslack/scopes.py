"""OAuth scopes in the local Slack: what the workspace granted the bot, and what each Web API
method asks for, so that a missing scope is answered `missing_scope` as Slack answers it.

The workspace grants, unless told otherwise, exactly what the app's manifest asks for
(`bot/slack/manifest.yml`, `oauth_config.scopes.bot`): a test or a rehearsal then meets the
same refusals a freshly installed app would.
"""

from __future__ import annotations

from bot.slack.manifest import bot_scopes

# Conversation kinds as `conversations.list` names them, and the scope that reads each.
READ_SCOPE = {"public_channel": "channels:read", "private_channel": "groups:read",
              "im": "im:read", "mpim": "mpim:read"}
HISTORY_SCOPES = ("channels:history", "groups:history", "im:history", "mpim:history")

# method -> scopes of which one must be granted. Methods not listed need none (views.*,
# auth.test) or are not checked; `conversations.list` and `conversations.info` depend on the
# kind of conversation (see `needed_scopes`).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.history": HISTORY_SCOPES,
    "conversations.replies": HISTORY_SCOPES,
    "conversations.join": ("channels:join",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "reactions.add": ("reactions:write",),
}


def manifest_scopes() -> frozenset[str]:
    """The bot scopes the app's manifest asks for."""
    return frozenset(bot_scopes())


def missing_for(method: str, kinds: list[str], granted: set[str]) -> list[str]:
    """The scopes `method` still needs (empty when it may be called).

    `kinds` are the conversation kinds the call touches (for `conversations.list` the kinds
    asked for, for `conversations.info` the conversation's own): each needs its read scope.
    """
    if method in ("conversations.list", "conversations.info"):
        return [READ_SCOPE[k] for k in kinds if k in READ_SCOPE and READ_SCOPE[k] not in granted]
    anyone = METHOD_SCOPES.get(method, ())
    if not anyone or granted.intersection(anyone):
        return []
    return [anyone[0]]
