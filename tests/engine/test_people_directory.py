"""The stored directory: answered from a snapshot of the people tables and away days, brought
up to date before a transaction (only when something changed), never from inside one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, insert, text

from bot.definitions.loader import load_paths
from bot.engine.away import add_away, clear_away
from bot.engine.people import StoredDirectory, people_changed
from bot.engine.service import ConductorService
from bot.engine.versions import WorkflowVersions
from bot.store.db import make_engine, make_session_factory, session_scope
from bot.store.models import Person, UserGroup, UserGroupMember

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # a Monday
STANDUP = """
id: standup
timezone: America/New_York
roles: {team: [S0TEAM]}
steps:
  - id: standup
    participants: [team]
    questions: [{id: done, text: What did you finish?}]
    window: {opens: "09:00", closes: "11:00"}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(migrated_db_url: str):
    engine = make_engine(migrated_db_url)
    yield engine
    engine.dispose()


def add_people(engine: Engine, *people: tuple[str, str | None], at: datetime = NOW, deleted: bool = False) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Person.__table__), [
            {"user_id": user, "name": user, "tz": tz, "deleted": deleted, "refreshed_at": at} for user, tz in people])


def add_group(engine: Engine, group: str, *users: str, at: datetime = NOW) -> None:
    with engine.begin() as conn:
        conn.execute(insert(UserGroup.__table__).values(group_id=group, handle=group.lower(), refreshed_at=at))
        if users:
            conn.execute(insert(UserGroupMember.__table__), [{"group_id": group, "user_id": u} for u in users])


def test_unknown_people_and_groups(engine):
    directory = StoredDirectory(engine)
    assert directory.group_members("S0NONE") == frozenset()
    assert directory.user_timezone("U0NOBODY") is None  # the stand-up then uses the workflow's zone
    assert not directory.is_away("U0NOBODY", date(2026, 3, 2))
    assert StoredDirectory(engine, default_zone="Europe/Lisbon").user_timezone("U0NOBODY") == "Europe/Lisbon"


def test_the_snapshot_is_read_again_only_when_the_tables_moved(engine):
    clock = Clock()
    directory = StoredDirectory(engine, check_seconds=5, monotonic=clock)
    directory.prepare()
    assert directory.loads == 1
    add_people(engine, ("U01ANN", "Europe/Berlin"))  # another process's write: no word of it here
    directory.prepare()
    assert directory.user_timezone("U01ANN") is None and directory.loads == 1  # looked at 0 s ago
    clock.now = 6
    directory.prepare()
    assert directory.user_timezone("U01ANN") == "Europe/Berlin" and directory.loads == 2
    clock.now = 12
    directory.prepare()  # looked at the token again: nothing moved, nothing read
    assert directory.loads == 2
    add_group(engine, "S0TEAM", "U01ANN", "U02BOB")
    clock.now = 18
    directory.prepare()
    assert directory.group_members("S0TEAM") == {"U01ANN", "U02BOB"} and directory.loads == 3


def test_a_change_written_in_this_process_is_seen_at_once(engine):
    clock = Clock()
    directory = StoredDirectory(engine, check_seconds=3600, monotonic=clock)
    directory.prepare()
    add_away(engine, "U01ANN", date(2026, 3, 2), date(2026, 3, 4))
    directory.prepare()
    assert directory.is_away("U01ANN", date(2026, 3, 3)) and not directory.is_away("U01ANN", date(2026, 3, 5))
    clear_away(engine, "U01ANN", date(2026, 3, 1))
    directory.prepare()
    assert not directory.is_away("U01ANN", date(2026, 3, 3))
    add_people(engine, ("U01ANN", "Asia/Tokyo"))
    people_changed()  # what the refresher says after its commit
    directory.prepare()
    assert directory.user_timezone("U01ANN") == "Asia/Tokyo"


def test_deactivated_people_are_in_no_group(engine):
    add_people(engine, ("U01ANN", "UTC"))
    add_people(engine, ("U09GONE", "UTC"), deleted=True)
    add_group(engine, "S0TEAM", "U01ANN", "U09GONE", "U05NEW")  # U05NEW: not read yet, still a member
    add_group(engine, "S0EMPTY")
    directory = StoredDirectory(engine)
    assert directory.group_members("S0TEAM") == {"U01ANN", "U05NEW"}
    assert directory.group_members("S0EMPTY") == frozenset()


def test_a_given_directory_answers_groups_and_zones_and_the_database_away_days(engine):
    from bot.engine.permissions import StaticDirectory

    inner = StaticDirectory({"S0TEAM": ["U01ANN"]}, {"U01ANN": "Asia/Tokyo"}, {"U02BOB": [(date(2026, 3, 2),) * 2]})
    add_group(engine, "S0TEAM", "U09OTHER")
    add_away(engine, "U01ANN", date(2026, 3, 2), date(2026, 3, 2))
    directory = StoredDirectory(engine, inner=inner)
    assert directory.group_members("S0TEAM") == {"U01ANN"} and directory.user_timezone("U01ANN") == "Asia/Tokyo"
    assert directory.is_away("U01ANN", date(2026, 3, 2)) and directory.is_away("U02BOB", date(2026, 3, 2))


# --- through the service ---------------------------------------------------------------------
@pytest.fixture
def service(engine, tmp_path: Path):
    (tmp_path / "standup.yaml").write_text(STANDUP)
    sessions = make_session_factory(engine)
    versions = WorkflowVersions()
    with session_scope(sessions) as session:
        versions.register(session, load_paths([str(tmp_path)]))
    return ConductorService(sessions, versions, StoredDirectory(engine, check_seconds=3600), clock=lambda: NOW)


def opens(result) -> dict[str, datetime]:
    return {t.data["user"]: t.due_at for t in result.state.timers.values() if t.kind == "standup_open"}


def test_a_transition_opens_no_connection_of_its_own(engine, service):
    """While the transaction holds its connection, nothing else is taken from the pool: the
    directory was read before it began."""
    add_people(engine, ("U01ANN", "Europe/Berlin"), ("U02BOB", "Asia/Tokyo"))
    add_group(engine, "S0TEAM", "U01ANN", "U02BOB")
    add_away(engine, "U02BOB", date(2026, 3, 2), date(2026, 3, 2))
    out, most = [0], [0]

    def checkout(*_):
        out[0] += 1
        most[0] = max(most[0], out[0])

    def checkin(*_):
        out[0] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        result = service.start("standup", None, {}, key="k1")
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert result.accepted and most[0] == 1
    assert result.state.steps["standup"].assignees == ["U01ANN"] and result.state.steps["standup"].away == ["U02BOB"]


def test_a_new_zone_is_used_from_the_next_prompt_scheduled(engine, service):
    """Someone Slack has not told us about is asked at the workflow's nine; once the refresh
    brings their zone, the next stand-up asks them at their own. A prompt already scheduled
    stays where it was: timers are not moved by a refresh."""
    add_people(engine, ("U01ANN", "Europe/Berlin"))
    add_group(engine, "S0TEAM", "U01ANN", "U05NEW")
    first = service.start("standup", None, {}, key="monday")
    assert opens(first) == {"U01ANN": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),  # 09:00 in Berlin
                            "U05NEW": datetime(2026, 3, 2, 14, 0, tzinfo=UTC)}  # 09:00 in New York
    add_people(engine, ("U05NEW", "Europe/Berlin"), at=NOW + timedelta(hours=1))
    people_changed()
    second = service.start("standup", None, {}, key="tuesday", now=NOW + timedelta(days=1))
    assert opens(second)["U05NEW"] == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    with engine.connect() as conn:
        due = conn.execute(text("select due_at from timers where run_id = :r and key like '%U05NEW%' "
                                "and kind = 'standup_open'"), {"r": first.run_id}).scalar_one()
    assert str(due).startswith("2026-03-02 14:00")
