"""The workspace the workflows name: every channel exists and the bot is in it, every user ID
and user group resolves. Lookups that cannot be made at all (a scope missing, Slack away) are
one failed line for their kind, not one per name."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.doctor import text
from bot.doctor.check import Check
from bot.doctor.needs import Needs, Place
from bot.doctor.slack_api import Reply, call, pages
from bot.doctor.slack_app import Identity


def check_channels(client: WebClient, needs: Needs, identity: Identity) -> list[Check]:
    if not needs.channels:
        return [text.channels_none()]
    by_name: dict[str, dict[str, Any]] = {}
    if any(ref.startswith("#") for ref in needs.channels):
        # Private channels are listed only with groups:read, and only those the bot is in.
        private = identity.scopes is None or "groups:read" in identity.scopes
        types = "public_channel,private_channel" if private else "public_channel"
        for reply in pages(client, "conversations.list", types=types):
            if not reply.ok:
                return [text.channels_unchecked(reply)]
            by_name.update({c["name"]: c for c in reply.data.get("channels", []) if c.get("name")})
    checks = []
    for ref, places in needs.channels.items():
        if ref.startswith("D"):
            checks.append(text.channel_direct(ref))
            continue
        if ref.startswith("#"):
            found = by_name.get(ref[1:])
        else:
            reply = call(client, "conversations.info", channel=ref)
            if not reply.ok and reply.error != "channel_not_found":
                return [text.channels_unchecked(reply)]
            found = reply.data.get("channel") if reply.ok else None
        checks.append(channel_check(ref, places, found, identity.user))
    return checks


def channel_check(ref: str, places: list[Place], found: dict[str, Any] | None, bot: str) -> Check:
    """What one channel's conversation object (None: not found) says (pure)."""
    if found is None:
        return text.channel_not_found(ref, places, bot)
    if found.get("is_archived"):
        return text.channel_archived(ref, places)
    if not found.get("is_member"):
        return text.channel_not_member(ref, found.get("name"), bot)
    return text.channel_ok(ref, str(found.get("id")), places)


def check_users(client: WebClient, needs: Needs) -> list[Check]:
    checks = []
    for user_id, places in needs.users.items():
        reply = call(client, "users.info", user=user_id)
        if not reply.ok and reply.error != "user_not_found":
            return [text.users_unchecked(reply)]
        checks.append(user_check(user_id, places, reply))
    return checks


def user_check(user_id: str, places: list[Place], reply: Reply) -> Check:
    user = reply.data.get("user") if reply.ok else None
    if not isinstance(user, dict):
        return text.user_not_found(user_id, places)
    if user.get("deleted"):
        return text.user_deactivated(user_id, places)
    return text.user_ok(user_id, user)


def check_groups(client: WebClient, needs: Needs) -> list[Check]:
    if not needs.groups:
        return []
    reply = call(client, "usergroups.list", include_disabled=True, include_count=True)
    if not reply.ok:
        return [text.groups_unchecked(reply)]
    known = {g.get("id"): g for g in reply.data.get("usergroups", []) if isinstance(g, dict)}
    return [group_check(group_id, places, known.get(group_id)) for group_id, places in needs.groups.items()]


def group_check(group_id: str, places: list[Place], group: dict[str, Any] | None) -> Check:
    if group is None:
        return text.group_not_found(group_id, places)
    handle = str(group.get("handle") or group.get("name") or group_id)
    if group.get("date_delete"):
        return text.group_disabled(group_id, handle, places)
    members = int(group.get("user_count") or len(group.get("users") or []))
    if members == 0:
        return text.group_empty(group_id, handle)
    return text.group_ok(group_id, handle, members)


def check_people(client: WebClient, needs: Needs) -> list[Check]:
    if not needs.users and not needs.groups:
        return [text.people_none()]
    return check_users(client, needs) + check_groups(client, needs)
