"""The local Slack Web API under the name the tests use, and a fixture for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.localslack import Call, SlackError
from bot.localslack import LocalSlack as FakeSlack

__all__ = ["Call", "FakeSlack", "SlackError", "fake_slack"]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running `FakeSlack` for one test (import this fixture into a test module)."""
    with FakeSlack() as fake:
        yield fake
