"""The local Slack, driven over HTTP by slack_sdk's WebClient: what real Slack does that a test
of the bot needs it to do too (ids only where Slack wants ids, paging, latency, rate tiers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakeslack import FakeSlack


def client_for(fake: FakeSlack, **kwargs: Any) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url, **kwargs)


def error_of(call: Callable[[], Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value
