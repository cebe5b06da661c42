"""User groups and time zones from Slack, cached; failures deny rather than guess."""

from __future__ import annotations

from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.directory import SlackDirectory
from tests.fakeslack import FakeSlack


def test_groups_and_time_zones_are_read_once_then_cached():
    clock = [0.0]
    with FakeSlack(users={"U01ANN": {"tz": "Europe/Berlin"}}, groups={"S01TEAM": ["U01ANN", "U02BOB"]}) as fake:
        directory = SlackDirectory(make_client(Settings(slack_bot_token="xoxb-t", slack_api_url=fake.url)),
                                   ttl_seconds=60, monotonic=lambda: clock[0])
        assert directory.group_members("S01TEAM") == {"U01ANN", "U02BOB"}
        assert directory.group_members("S01TEAM") == {"U01ANN", "U02BOB"}
        assert directory.user_timezone("U01ANN") == "Europe/Berlin"
        assert len(fake.calls_to("usergroups.users.list")) == 1
        fake.groups["S01TEAM"] = ["U01ANN"]
        clock[0] = 61  # the cache expires: membership changes are seen
        assert directory.group_members("S01TEAM") == {"U01ANN"}


def test_an_unknown_group_or_an_outage_grants_nothing():
    with FakeSlack() as fake:
        directory = SlackDirectory(make_client(Settings(slack_bot_token="xoxb-t", slack_api_url=fake.url)))
        assert directory.group_members("S0NOSUCH") == frozenset()
        fake.set_down(True)
        assert directory.group_members("S0OTHER") == frozenset()
        assert directory.user_timezone("U01ANN") is None
