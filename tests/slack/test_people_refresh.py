"""The people refresher against the local Slack: 450 people across pages, a group whose member
list comes back cut short, deactivated people, events for one person or group, a 429, and
rows an event wrote after a full refresh began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.engine.people import StoredDirectory
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.people import refresh_group, refresh_people, refresh_user
from bot.store.db import make_engine
from bot.store.models import Person, UserGroup, UserGroupMember
from tests.fakeslack import FakeSlack

NOW = datetime(2030, 1, 7, 5, 0, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
PEOPLE = {f"U{n:05d}P": {"real_name": f"Person {n}", "tz": ZONES[n % 3]} for n in range(450)}
PEOPLE["U00007P"]["deleted"] = True  # deactivated: Slack still lists them
PEOPLE["U00008P"] = {"real_name": "No Zone", "tz": None}
EVERYONE = sorted(PEOPLE)


@pytest.fixture
def engine(migrated_db_url: str):
    engine = make_engine(migrated_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def slack():
    groups = {"S0ALL": EVERYONE, "S0SMALL": ["U00001P", "U00002P", "U00007P"]}
    with FakeSlack(users={k: dict(v) for k, v in PEOPLE.items()}, groups=groups,
                   group_handles={"S0ALL": "everyone"}, group_users_cap=100) as fake:
        yield fake


def client(fake: FakeSlack):
    return make_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.url))


def rows(engine: Engine, table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table))]


def test_everyone_across_pages_and_every_group_with_all_its_members(engine, slack):
    refreshed = refresh_people(client(slack), engine, NOW)
    assert (refreshed.people, refreshed.groups, refreshed.memberships) == (450, 2, 453)
    pages = slack.calls_to("users.list")
    assert [c.params["limit"] for c in pages] == ["200"] * 3
    assert "cursor" not in pages[0].params and all(c.params["cursor"] for c in pages[1:])
    # S0ALL's list came back cut at 100 of 450: its members were asked for; S0SMALL's was whole.
    assert [c.params["usergroup"] for c in slack.calls_to("usergroups.users.list")] == ["S0ALL"]
    assert refreshed.calls == 3 + 1 + 1

    people = {user_id: (name, tz, deleted) for user_id, name, tz, deleted, _ in rows(engine, Person.__table__)}
    assert len(people) == 450
    assert people["U00001P"] == ("Person 1", "America/New_York", False)
    assert people["U00008P"] == ("No Zone", None, False) and people["U00007P"][2]
    assert {(g, h) for g, h, _ in rows(engine, UserGroup.__table__)} == {("S0ALL", "everyone"), ("S0SMALL", "s0small")}

    directory = StoredDirectory(engine)
    directory.prepare()
    assert len(directory.group_members("S0ALL")) == 449  # the deactivated person grants nothing
    assert directory.group_members("S0SMALL") == {"U00001P", "U00002P"}
    assert directory.user_timezone("U00003P") == "Europe/Berlin"
    assert directory.user_timezone("U00008P") is None


def test_a_refresh_that_finds_nothing_new_writes_nothing(engine, slack):
    refresh_people(client(slack), engine, NOW)
    directory = StoredDirectory(engine, check_seconds=0)
    directory.prepare()
    again = refresh_people(client(slack), engine, NOW + timedelta(minutes=10))
    assert again.changed == 0
    directory.prepare()
    assert directory.loads == 1  # the snapshot's token did not move: not read again


def test_changes_in_slack_reach_the_tables_and_the_engine_at_once(engine, slack):
    refresh_people(client(slack), engine, NOW)
    directory = StoredDirectory(engine, check_seconds=3600)  # only this process's writes reload it
    directory.prepare()
    slack.users["U00001P"]["tz"] = "Pacific/Auckland"
    del slack.users["U00002P"]
    slack.groups["S0SMALL"] = ["U00003P"]
    del slack.groups["S0ALL"]
    slack.groups["S0NEW"] = ["U00004P"]
    changed = refresh_people(client(slack), engine, NOW + timedelta(minutes=10)).changed
    assert changed == 2 + 3  # people: one moved, one gone; groups: one changed, one gone, one new
    directory.prepare()
    assert directory.user_timezone("U00001P") == "Pacific/Auckland"
    assert directory.user_timezone("U00002P") is None
    assert directory.group_members("S0SMALL") == {"U00003P"}
    assert directory.group_members("S0ALL") == frozenset()
    assert directory.group_members("S0NEW") == {"U00004P"}
    assert {g for g, _ in rows(engine, UserGroupMember.__table__)} == {"S0SMALL", "S0NEW"}


def test_one_person_or_group_is_read_again_on_an_event(engine, slack):
    refresh_people(client(slack), engine, NOW)
    directory = StoredDirectory(engine, check_seconds=3600)
    directory.prepare()
    slack.users["U99999N"] = {"real_name": "New Joiner", "tz": "Asia/Tokyo"}
    assert refresh_user(client(slack), engine, "U99999N", NOW).tz == "Asia/Tokyo"
    assert refresh_user(client(slack), engine, "U0NOSUCH", NOW) is None
    slack.groups["S0SMALL"].append("U99999N")
    refresh_group(client(slack), engine, "S0SMALL", NOW, handle="small-team")
    directory.prepare()
    assert directory.user_timezone("U99999N") == "Asia/Tokyo"
    assert "U99999N" in directory.group_members("S0SMALL")
    assert ("S0SMALL", "small-team") in {(g, h) for g, h, _ in rows(engine, UserGroup.__table__)}
    refresh_group(client(slack), engine, "S0SMALL", NOW, disabled=True)  # disabled: grants nothing
    assert refresh_group(client(slack), engine, "S0GONE", NOW) == frozenset()  # Slack knows it not
    directory.prepare()
    assert directory.group_members("S0SMALL") == frozenset()
    assert "S0SMALL" not in {g for g, _, _ in rows(engine, UserGroup.__table__)}


def test_a_row_an_event_wrote_after_the_full_refresh_began_is_left_alone(engine, slack):
    refresh_people(client(slack), engine, NOW)
    slack.users["U00001P"]["tz"] = "Pacific/Auckland"
    refresh_user(client(slack), engine, "U00001P", NOW + timedelta(minutes=2))
    # A full refresh that began at minute 1 may have read the old zone before the change.
    slack.users["U00001P"]["tz"] = "America/New_York"
    refresh_people(client(slack), engine, NOW + timedelta(minutes=1))
    directory = StoredDirectory(engine)
    assert directory.user_timezone("U00001P") == "Pacific/Auckland"


def test_a_rate_limited_page_is_waited_out(engine, slack):
    waited: list[float] = []
    slack.fail_next("users.list", status=429)
    refreshed = refresh_people(client(slack), engine, NOW, sleep=waited.append)
    assert refreshed.people == 450 and waited == [1.0]


def test_without_usergroups_read_people_are_still_refreshed_and_groups_kept(engine, slack):
    refresh_people(client(slack), engine, NOW)
    slack.scopes.discard("usergroups:read")
    slack.users["U00001P"]["tz"] = "Pacific/Auckland"
    refreshed = refresh_people(client(slack), engine, NOW + timedelta(minutes=10))
    assert (refreshed.people, refreshed.groups, refreshed.changed) == (450, 0, 1)
    directory = StoredDirectory(engine)
    assert directory.user_timezone("U00001P") == "Pacific/Auckland"
    assert len(directory.group_members("S0ALL")) == 449  # what the last refresh with the scope read
