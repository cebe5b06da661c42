"""The bot token scopes Conductor needs, and why: the one place that says so.

Each entry names what calls need the scope (found by reading the code, not the docs), and when:
always, or only when the workflows do something (name a user group, run a stand-up). The scope
check asks for every scope the app's manifest lists, plus each scope below whose condition
holds; a missing scope the workflows use is a failure, one only the manifest lists is a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.doctor.needs import Needs
from bot.slack.manifest import bot_scopes


@dataclass(frozen=True)
class Scope:
    why: str  # shown after "needed ": what Conductor does with it
    when: Callable[[Needs], bool]


def _always(needs: Needs) -> bool:
    return True


def _never(needs: Needs) -> bool:
    return False


def _groups(needs: Needs) -> bool:
    return bool(needs.groups)


def _standups(needs: Needs) -> bool:
    return bool(needs.standups)


def _people(needs: Needs) -> bool:
    return bool(needs.standups or needs.users)


def _channels(needs: Needs) -> bool:
    return bool(needs.channels)


SCOPES: dict[str, Scope] = {
    # chat.postMessage, chat.update (the run's header), chat.postEphemeral (private notes):
    # bot/slack/messenger.py, bot/slack/lookup.py.
    "chat:write": Scope("to post and update every message", _always),
    # chat.postMessage in a public channel the bot has not been invited to (the run's header).
    "chat:write.public": Scope("to post in public channels the bot was not invited to", _always),
    # The /conductor slash command (bot/slack/commands).
    "commands": Scope("for the /conductor command", _always),
    # message.channels events (replies in a run's thread) and conversations.history/replies,
    # with which the messenger looks for a post Slack may have applied (bot/slack/messenger.py).
    "channels:history": Scope("to read replies in run threads in public channels", _always),
    # The same in private channels (message.groups).
    "groups:history": Scope("to read replies in run threads in private channels", _always),
    # conversations.open: stand-up questions and nudges go by DM, posted to the person's id; the
    # messenger opens the DM to look for one Slack may have applied (bot/slack/messenger.py).
    "im:write": Scope("to send stand-up questions by DM", _standups),
    # message.im events: stand-up answers written as plain DM replies (bot/slack/events).
    "im:history": Scope("to read stand-up answers written as DM replies", _standups),
    # users.list / users.info: the people refresher keeps everyone's time zone in the tables the
    # engine reads (bot/slack/people.py); the doctor's user check.
    "users:read": Scope("to read people's time zones for stand-ups (and to check user IDs)", _people),
    # usergroups.list / usergroups.users.list: who is in a group a role names, for permissions
    # and stand-ups, refreshed into the tables (bot/slack/people.py); the doctor's group check.
    "usergroups:read": Scope("to read the members of the user groups roles name", _groups),
    # conversations.list/info: the messenger turns a workflow's #name into the channel's id
    # (history is read by id only: bot/slack/channel_names.py); the doctor finds the channels the
    # workflows name and whether the bot is in them.
    "channels:read": Scope("to find the channels workflows name by their #name", _channels),
    # conversations.list of private channels: used when granted, never required (a private
    # channel it cannot see is reported as not found, with the invitation as fix; posts to it by
    # name still go out, and are not looked for after a crash).
    "groups:read": Scope("by conductor doctor to see private channels", _never),
    # conversations.join: nothing calls it. The bot does not join channels by itself; people
    # invite it (a public channel it is not in still gets no thread replies), so not needed.
    "channels:join": Scope("to join channels", _never),
}


def manifest_scopes() -> tuple[str, ...]:
    """The bot scopes `bot/slack/manifest.yml` asks for, in its order."""
    return bot_scopes()


@dataclass(frozen=True)
class Need:
    why: str
    required: bool  # False: the manifest asks for it, but nothing the workflows do uses it


def needed_scopes(needs: Needs, manifest: tuple[str, ...] | None = None) -> dict[str, Need]:
    """Every scope the token should carry (the manifest's and the workflows'), and why."""
    listed = manifest_scopes() if manifest is None else manifest
    needed: dict[str, Need] = {}
    for scope in listed:
        entry = SCOPES.get(scope)
        needed[scope] = Need(entry.why, entry.when(needs)) if entry else Need("by the app's manifest", True)
    for scope, entry in SCOPES.items():
        if scope not in needed and entry.when(needs):
            needed[scope] = Need(entry.why, True)
    return needed
