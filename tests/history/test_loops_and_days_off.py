"""A rejection that loops back starts the step's next attempt: its events and step object say
which attempt. A stand-up on a day off (a weekend) asks nobody and has no row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.engine import events as ev
from tests.harness import Harness
from tests.history.conftest import WORKFLOWS
from tests.history.helpers import export, report, rows


def test_a_loop_back_is_the_next_attempt(migrated_db_url):
    h = Harness(migrated_db_url, [WORKFLOWS])
    try:
        h.service.start("review-loop", "U02WRITER", {}, key="start", channel="C0TEST", run_id="r-loop")
        h.wait(timedelta(minutes=10))
        h.send("r-loop", ev.Answer("draft", "U02WRITER", {"doc": "https://docs.example.com/1"}))
        h.wait(timedelta(minutes=10))
        h.send("r-loop", ev.Reject("review", "U01EDITOR", "Too long"))
        h.wait(timedelta(minutes=10))
        h.send("r-loop", ev.Answer("draft", "U02WRITER", {"doc": "https://docs.example.com/2"}))
        h.send("r-loop", ev.Approve("review", "U01EDITOR"))
        lines = rows(export(h, "csv", workflow_id="review-loop"))
        assert [(r["time"][11:16], r["activity"], r["step_id"], r["attempt"], r["actor"]) for r in lines] == [
            ("08:00", "run started", "", "", "U02WRITER"),
            ("08:00", "step asked", "draft", "1", ""),
            ("08:10", "step answered", "draft", "1", "U02WRITER"),
            ("08:10", "step completed", "draft", "1", "U02WRITER"),
            ("08:10", "step asked", "review", "1", ""),
            ("08:20", "step rejected", "review", "1", "U01EDITOR"),
            ("08:20", "step looped back", "draft", "1", ""),
            ("08:20", "step asked", "draft", "2", ""),
            ("08:30", "step answered", "draft", "2", "U02WRITER"),
            ("08:30", "step completed", "draft", "2", "U02WRITER"),
            ("08:30", "step asked", "review", "2", ""),
            ("08:30", "step answered", "review", "2", "U01EDITOR"),
            ("08:30", "step completed", "review", "2", "U01EDITOR"),
            ("08:30", "run finished", "", "", ""),
        ]
        assert "Too long" not in export(h, "csv") and "Too long" in export(h, "csv", include_private=True)
        steps = [o["id"] for o in json.loads(export(h, "ocel"))["objects"] if o["type"] == "step"]
        assert steps == ["r-loop/draft/1", "r-loop/draft/2", "r-loop/review/1", "r-loop/review/2"]
    finally:
        h.close()


def test_a_stand_up_on_a_day_off_has_no_row(migrated_db_url):
    h = Harness(migrated_db_url, [WORKFLOWS])
    try:
        saturday = datetime(2026, 3, 7, 8, 0, tzinfo=UTC)
        h.now = saturday
        h.service.start("team-standup", "U10LEAD", {}, key="start", channel="C0TEST", run_id="r-saturday")
        h.wait(timedelta(hours=4))
        assert rows(report(h)) == []
        assert [r["activity"] for r in rows(export(h, "csv"))] == ["run started", "step skipped", "run finished"]
    finally:
        h.close()
