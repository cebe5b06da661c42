"""`conductor report standups`: one row per person and day, from the stand-up's recorded state
and the audit log: answered (by form, by DM), late, away, missing, with the blockers raised."""

from __future__ import annotations

import json

from tests.history.helpers import report, rows

HEADER = "date,workflow,run_id,step_id,person,status,asked_at,answered_at,window_closes,blockers"
EXPECTED_CSV = "\n".join([
    HEADER,
    "2026-03-02,team-standup,r-standup,standup,U20ANA,answered,2026-03-02T09:00:00Z,2026-03-02T09:15:00Z,"
    "2026-03-02T11:30:00Z,Waiting on API keys from IT",
    "2026-03-02,team-standup,r-standup,standup,U21BEN,answered,2026-03-02T09:00:00Z,2026-03-02T09:30:00Z,"
    "2026-03-02T11:30:00Z,",
    "2026-03-02,team-standup,r-standup,standup,U22CAR,late,2026-03-02T08:00:00Z,2026-03-02T10:45:00Z,"
    "2026-03-02T10:30:00Z,Need a design review",
    "2026-03-02,team-standup,r-standup,standup,U23DAN,away,,,,",
    "2026-03-02,team-standup,r-standup,standup,U24EVE,missing,2026-03-02T09:00:00Z,,2026-03-02T11:30:00Z,",
]) + "\n"


def test_the_csv_has_one_row_per_person_and_day(built):
    assert report(built) == EXPECTED_CSV
    assert report(built, workflow_id="team-standup") == EXPECTED_CSV


def test_the_json_says_the_same_with_blockers_as_a_list(built):
    found = json.loads(report(built, fmt="json"))
    assert [(r["person"], r["status"], r["blockers"]) for r in found] == [
        ("U20ANA", "answered", ["Waiting on API keys from IT"]),
        ("U21BEN", "answered", []),  # "none" is no blocker
        ("U22CAR", "late", ["Need a design review"]),
        ("U23DAN", "away", []),
        ("U24EVE", "missing", []),
    ]
    assert found[2] == {
        "date": "2026-03-02", "workflow": "team-standup", "run_id": "r-standup", "step_id": "standup",
        "person": "U22CAR", "status": "late", "asked_at": "2026-03-02T08:00:00Z",
        "answered_at": "2026-03-02T10:45:00Z", "window_closes": "2026-03-02T10:30:00Z",
        "blockers": ["Need a design review"],
    }


def test_other_answers_only_with_include_private(built):
    assert "Shipped the importer" not in report(built) + report(built, fmt="json")
    private = json.loads(report(built, fmt="json", include_private=True))
    assert private[0]["answers"] == {"yesterday": "Shipped the importer", "blockers": "Waiting on API keys from IT"}
    assert private[3]["answers"] == {}
    lines = rows(report(built, include_private=True))
    assert json.loads(lines[1]["answers"]) == {"blockers": "none", "yesterday": "Fixed the flaky test"}


def test_since_and_workflow_narrow_the_report(built):
    assert report(built, since="12h") == HEADER + "\n"  # the stand-up began 25 hours before NOW
    assert report(built, since="2d") == EXPECTED_CSV
    assert report(built, workflow_id="publish-note") == HEADER + "\n"


def test_an_open_stand_up_says_who_is_still_pending(migrated_db_url):
    from datetime import timedelta

    from bot.engine import events as ev
    from tests.harness import Harness
    from tests.history.conftest import WORKFLOWS

    h = Harness(migrated_db_url, [WORKFLOWS])
    try:
        h.service.start("team-standup", "U10LEAD", {}, key="start", channel="C0TEST", run_id="r-open")
        h.wait(timedelta(hours=1, minutes=10))
        h.send("r-open", ev.StandupAnswer("standup", "U20ANA", {"yesterday": "Done", "blockers": "no"}))
        found = rows(report(h))
        assert [(r["person"], r["status"]) for r in found] == [
            ("U20ANA", "answered"), ("U21BEN", "pending"), ("U22CAR", "pending"), ("U23DAN", "pending"),
            ("U24EVE", "pending")]
        assert found[0]["answered_at"] == "2026-03-02T09:10:00Z" and found[0]["blockers"] == ""
    finally:
        h.close()
