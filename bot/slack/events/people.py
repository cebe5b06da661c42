"""Slack's news about people: someone joined or changed (their time zone, say), a user group's
members or handle changed. Each is answered at once and the person or group is read again
afterwards (a lazy function): the tables the engine reads are kept current between the
clock's full refreshes (`bot.processes.people_refresh`).

The event's own copy of the user or group is not written: events may arrive out of order, so
the current state is asked of Slack (`users.info`, `usergroups.users.list`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.runtime import Runtime
from bot.slack.acks import acknowledge
from bot.slack.people import refresh_group, refresh_user

log = logging.getLogger("conductor.people")
USER_EVENTS = ("user_change", "team_join")
GROUP_EVENTS = ("subteam_members_changed", "subteam_updated", "subteam_created")


def user_of(event: dict[str, Any]) -> str | None:
    """The user ID `user_change` and `team_join` are about (they carry the user object)."""
    user = event.get("user")
    found = user.get("id") if isinstance(user, dict) else user
    return found if isinstance(found, str) and found else None


def group_of(event: dict[str, Any]) -> tuple[str, str | None, bool] | None:
    """(group ID, handle when given, disabled) of a `subteam_*` event."""
    subteam = event.get("subteam")
    if isinstance(subteam, dict):
        group_id, handle = subteam.get("id"), subteam.get("handle")
        disabled = bool(subteam.get("date_delete"))
    else:  # subteam_members_changed names the group only
        group_id, handle, disabled = event.get("subteam_id"), None, False
    if not isinstance(group_id, str) or not group_id:
        return None
    return group_id, handle if isinstance(handle, str) else None, disabled


def register(app: App, runtime: Runtime) -> None:
    def user_changed(event: dict[str, Any], client: WebClient) -> None:
        user = user_of(event)
        if user is None:
            return
        try:
            refresh_user(client, runtime.engine, user, runtime.service.clock())
        except SlackApiError as exc:  # the clock's next full refresh reads them again
            log.warning("could not read user %s after %s: %s", user, event.get("type"), exc.response.get("error"))

    def group_changed(event: dict[str, Any], client: WebClient) -> None:
        found = group_of(event)
        if found is None:
            return
        group_id, handle, disabled = found
        try:
            refresh_group(client, runtime.engine, group_id, runtime.service.clock(), handle=handle, disabled=disabled)
        except SlackApiError as exc:
            log.warning("could not read user group %s after %s: %s", group_id, event.get("type"),
                        exc.response.get("error"))

    for name in USER_EVENTS:
        app.event(name)(ack=acknowledge, lazy=[user_changed])
    for name in GROUP_EVENTS:
        app.event(name)(ack=acknowledge, lazy=[group_changed])
