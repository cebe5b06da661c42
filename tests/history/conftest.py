"""A history built through the real service, on a fake clock: a stand-up across two time zones
(answers by form and by DM, one late, one away, one missing) and a run whose automation fails,
is escalated and is taken over."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.engine import events as ev
from tests.harness import Harness, fails

WORKFLOWS = str(Path(__file__).parent / "workflows")
STANDUP, NOTE = "r-standup", "r-note"


def build(url: str) -> Harness:
    h = Harness(url, [WORKFLOWS])
    h.directory.zones = {"U22CAR": "Europe/Berlin"}  # her window is 08:00-10:30 UTC in March
    h.directory.away = {"U23DAN": [(date(2026, 3, 2), date(2026, 3, 6))]}
    h.service.start("team-standup", "U10LEAD", {}, key="start:standup", channel="C0TEST", run_id=STANDUP)
    h.service.start("publish-note", "U01EDITOR", {"title": "Quarterly note"}, key="start:note", channel="C0TEST",
                    run_id=NOTE)
    h.wait(timedelta(minutes=30))  # 08:30
    h.send(NOTE, ev.Reassign("write", "U01EDITOR", "U02WRITER"))
    h.wait(timedelta(minutes=45))  # 09:15
    h.send(STANDUP, ev.StandupAnswer("standup", "U20ANA", {"yesterday": "Shipped the importer",
                                                           "blockers": "Waiting on API keys from IT"}))
    h.wait(timedelta(minutes=15))  # 09:30
    h.send(STANDUP, ev.StandupReply("standup", "U21BEN", "Fixed the flaky test"))
    h.send(STANDUP, ev.StandupReply("standup", "U21BEN", "none"))
    h.automations["publish"] = lambda request: fails("CMS answered 503 for token s3cr3t")
    h.send(NOTE, ev.Answer("write", "U02WRITER", {"body": "Revenue grew 12% (confidential)"}))
    h.wait(timedelta(minutes=75))  # 10:45: the retry failed too, and the step is escalated
    h.send(STANDUP, ev.StandupAnswer("standup", "U22CAR", {"yesterday": "Reviews", "blockers": "Need a design review"}))
    h.send(NOTE, ev.TakeOver("publish", "U05OPS", {"url": "https://notes.example.com/q1"}))
    h.wait(timedelta(hours=1))  # 11:45: the stand-up closed at 11:30
    return h


@pytest.fixture
def built(migrated_db_url: str):
    h = build(migrated_db_url)
    yield h
    h.close()
