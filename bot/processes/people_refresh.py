"""The leading clock keeps the people tables filled from Slack: once at start, then every
REFRESH_SECONDS, on a thread of its own (a refresh is seconds of Web API calls, which must
not hold up timers). Events refresh single people and groups in between
(`bot.slack.events.people`); this catches whatever events were missed.

A failed refresh is a WARNING and the tables keep what they had: the engine goes on with
what it last knew, and the next refresh tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from bot.settings import Settings

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.runtime import Runtime
    from bot.slack.people import Refreshed

log = logging.getLogger("conductor.people")
REFRESH_SECONDS = 600.0


def start_people_refresh(settings: Settings, runtime: Runtime, stop: threading.Event) -> threading.Thread | None:
    """Refresh now and every REFRESH_SECONDS until `stop` is set, on a daemon thread (a
    refresh cut short by the process ending has written nothing: it writes in one
    transaction, after its calls). None without a bot token: there is no Slack to read."""
    if settings.slack_bot_token is None:
        # The messenger already said there is no token (one line for one fact).
        log.debug("no SLACK_BOT_TOKEN: people and user groups are not read from Slack")
        return None
    from bot.slack.client import make_client  # the clock reaches Slack only when it has a token

    client = make_client(settings)
    thread = threading.Thread(target=refresh_every, args=(client, runtime.engine, stop),
                              kwargs={"clock": runtime.service.clock, "seconds": REFRESH_SECONDS}, name="people-refresh", daemon=True)
    thread.start()
    return thread


def refresh_every(client: WebClient, engine: Engine, stop: threading.Event, *,
                  seconds: float = REFRESH_SECONDS, clock: Callable[[], datetime]) -> None:
    """The thread's loop: a refresh, then one every `seconds`, until `stop`."""
    while not stop.is_set():
        refresh_once(client, engine, clock())
        if stop.wait(seconds):
            return


def refresh_once(client: WebClient, engine: Engine, now: datetime) -> Refreshed | None:
    """One full refresh, logged: INFO with the counts, or WARNING on failure. Never raises."""
    from bot.slack.people import refresh_people

    started = time.monotonic()
    try:
        refreshed = refresh_people(client, engine, now)
    except Exception as exc:  # noqa: BLE001 - Slack down, a bad answer, the database: try next time
        log.warning("could not refresh people from Slack (the tables keep what they had): %s", exc)
        return None
    log.info("people refreshed from Slack in %.1f s: %d people, %d user groups, %d memberships, %d rows changed",
             time.monotonic() - started, refreshed.people, refreshed.groups, refreshed.memberships, refreshed.changed)
    return refreshed
