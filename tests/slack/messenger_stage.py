"""A messenger against the local Slack, over the real service and database, for the tests of
what it sends and how it renders."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.fakeslack import FakeSlack
from tests.harness import Harness


@contextmanager
def messenger_stage(database_url: str, folder: Path, workflow: str,
                    render: Callable[..., dict[str, Any]]) -> Iterator[Harness]:
    """A harness on the wall clock with `workflow` loaded, `h.fake` the local Slack and
    `h.messenger` delivering to it with `render`."""
    folder.mkdir()
    (folder / "chat.yaml").write_text(workflow)
    h = Harness(database_url, [str(folder)])
    h.service.clock = lambda: datetime.now(UTC)
    with FakeSlack() as fake:
        # A short client timeout: a post whose fate is unknown is sent again after three of them.
        client = make_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.url, slack_timeout_seconds=1))
        h.fake = fake  # type: ignore[attr-defined]
        h.messenger = Messenger(h.engine, client, h.versions, render=render)  # type: ignore[attr-defined]
        yield h
    h.close()


def drain(h: Any, seconds: float = 10.0) -> None:
    """Deliver until the outbox has nothing pending or sending."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        h.messenger.deliver_due()
        if h.count("select count(*) from outbox where status in ('pending', 'sending')") == 0:
            return
        time.sleep(0.05)
    raise AssertionError("outbox not drained")
