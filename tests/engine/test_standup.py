"""Stand-ups in each person's own time zone: DST, working days, holidays, tiered reminders,
late answers, and a summary once the last window has closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.definitions.loader import load_bytes
from bot.engine import events as ev
from bot.engine.effects import Message, SetTimer
from bot.engine.machine import Accepted, advance, start_run
from bot.engine.permissions import StaticDirectory

STANDUP = """
id: standup
roles: {team: [U01NY, U02BER], lead: [U03LEAD]}
conductor: lead
steps:
  - id: standup
    participants: [team]
    questions:
      - {id: done, text: What did you finish?}
      - {id: blockers, text: Anything blocking you?, required: false, blocker: true}
    window: {opens: "09:00", closes: "11:00"}
    holidays: US
    remind: [1h, 1h45m]
"""
WORKFLOW = load_bytes("standup.yaml", STANDUP.encode())[0].workflow
ZONES = StaticDirectory(zones={"U01NY": "America/New_York", "U02BER": "Europe/Berlin"})


def begin(now: datetime):
    outcome = start_run(WORKFLOW, run_id="r", version="v", actor=None, inputs={}, now=now, directory=ZONES)
    assert isinstance(outcome, Accepted)
    return outcome


def opens(outcome) -> dict[str, datetime]:
    found = {e.data["user"]: e.due_at for e in outcome.effects if isinstance(e, SetTimer) and e.kind == "standup_open"}
    return found


@pytest.mark.parametrize(
    ("day", "ny_open", "berlin_open"),
    [
        # Both on standard time: 14:00 and 08:00 UTC.
        (datetime(2026, 3, 2, 5, 0, tzinfo=UTC), datetime(2026, 3, 2, 14, 0, tzinfo=UTC), datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        # New York has sprung forward (8 March), Berlin not yet: 13:00 and 08:00 UTC.
        (datetime(2026, 3, 10, 5, 0, tzinfo=UTC), datetime(2026, 3, 10, 13, 0, tzinfo=UTC), datetime(2026, 3, 10, 8, 0, tzinfo=UTC)),
        # Both on summer time: 13:00 and 07:00 UTC.
        (datetime(2026, 3, 30, 5, 0, tzinfo=UTC), datetime(2026, 3, 30, 13, 0, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        # Berlin is back on winter time (25 October), New York not yet: 13:00 and 08:00 UTC.
        (datetime(2026, 10, 27, 5, 0, tzinfo=UTC), datetime(2026, 10, 27, 13, 0, tzinfo=UTC), datetime(2026, 10, 27, 8, 0, tzinfo=UTC)),
    ],
)
def test_each_person_is_asked_at_nine_on_their_own_clock(day, ny_open, berlin_open):
    assert opens(begin(day)) == {"U01NY": ny_open, "U02BER": berlin_open}


def test_weekends_and_holidays_have_no_stand_up():
    saturday = begin(datetime(2026, 3, 7, 5, 0, tzinfo=UTC))
    assert saturday.state.steps["standup"].status.value == "skipped"
    assert "not a working day" in saturday.state.steps["standup"].reason
    independence = begin(datetime(2026, 7, 3, 5, 0, tzinfo=UTC))  # observed US holiday (4 July is a Saturday)
    assert "holiday" in independence.state.steps["standup"].reason


def messages(outcome, kind: str) -> list[Message]:
    return [e for e in outcome.effects if isinstance(e, Message) and e.kind == kind]


def test_reminders_are_tiered_and_stop_after_an_answer_and_late_answers_are_marked():
    now = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    outcome = begin(now)
    state = outcome.state
    berlin_timers = sorted((t for t in state.timers.values() if t.data.get("user") == "U02BER"), key=lambda t: t.due_at)
    assert [t.kind for t in berlin_timers] == ["standup_open", "reminder", "reminder"]

    def fire(kind: str, user: str):
        nonlocal state
        key = next(k for k, t in state.timers.items() if t.kind == kind and t.data.get("user") == user)
        result = advance(WORKFLOW, state, ev.TimerFired(key), state.timers[key].due_at, ZONES)
        state = result.state
        return result

    assert messages(fire("standup_open", "U02BER"), "standup_prompt")[0].to == ("U02BER",)
    gentle = messages(fire("reminder", "U02BER"), "reminder")[0]
    assert gentle.destination == "dm"
    last = messages(fire("reminder", "U02BER"), "reminder")[0]
    assert last.destination == "thread" and last.to == ("U02BER",)
    # New York answers before any reminder: its reminders then say nothing.
    state = advance(WORKFLOW, state, ev.StandupAnswer("standup", "U01NY", {"done": "API"}), datetime(2026, 3, 2, 14, 5, tzinfo=UTC), ZONES).state
    assert messages(fire("reminder", "U01NY"), "reminder") == []
    # Berlin answers after its window (11:00 Berlin = 10:00 UTC): taken, and marked late.
    closing = advance(WORKFLOW, state, ev.StandupAnswer("standup", "U02BER", {"done": "Docs", "blockers": "Need access"}),
                      datetime(2026, 3, 2, 15, 0, tzinfo=UTC), ZONES)
    assert closing.state.steps["standup"].late == ["U02BER"]
    summary = messages(closing, "standup_summary")[0]  # everyone answered: the summary comes at once
    assert summary.late == ("U02BER",) and summary.missing == ()


def test_the_summary_waits_for_the_last_time_zone():
    outcome = begin(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    close = next(t for t in outcome.state.timers.values() if t.kind == "close")
    assert close.due_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 11:00 in New York


def test_someone_away_is_neither_asked_nor_reminded_and_shown_as_away():
    from datetime import date

    directory = StaticDirectory(zones=ZONES.zones, away={"U02BER": [(date(2026, 3, 2), date(2026, 3, 6))]})
    outcome = start_run(WORKFLOW, run_id="r", version="v", actor=None, inputs={}, now=datetime(2026, 3, 2, 5, 0, tzinfo=UTC),
                        directory=directory)
    step = outcome.state.steps["standup"]
    assert step.away == ["U02BER"] and step.assignees == ["U01NY"]
    assert not any(t.data.get("user") == "U02BER" for t in outcome.state.timers.values())
    done = advance(WORKFLOW, outcome.state, ev.StandupAnswer("standup", "U01NY", {"done": "x"}),
                   datetime(2026, 3, 2, 14, 30, tzinfo=UTC), directory)
    assert messages(done, "standup_summary")[0].away == ("U02BER",)


def test_answering_by_dm_one_question_at_a_time():
    outcome = begin(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # both windows are open: asked at once
    prompt = messages(outcome, "standup_prompt")[0]
    assert prompt.first_question == "What did you finish?"
    at = datetime(2026, 3, 2, 15, 5, tzinfo=UTC)
    first = advance(WORKFLOW, outcome.state, ev.StandupReply("standup", "U01NY", "Shipped the API"), at, ZONES)
    assert [m.text for m in messages(first, "standup_question")] == ["Anything blocking you?"]
    assert "U01NY" not in first.state.steps["standup"].answers
    second = advance(WORKFLOW, first.state, ev.StandupReply("standup", "U01NY", "Waiting on keys"), at, ZONES)
    assert second.state.steps["standup"].answers["U01NY"] == {"done": "Shipped the API", "blockers": "Waiting on keys"}
    assert messages(second, "standup_thanks")
    stranger = advance(WORKFLOW, second.state, ev.StandupReply("standup", "U09X", "hi"), at, ZONES)
    assert stranger.code == "not_allowed"


def test_answers_can_be_edited_until_the_summary():
    outcome = begin(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    at = datetime(2026, 3, 2, 15, 1, tzinfo=UTC)
    first = advance(WORKFLOW, outcome.state, ev.StandupAnswer("standup", "U01NY", {"done": "API"}), at, ZONES)
    edited = advance(WORKFLOW, first.state, ev.StandupAnswer("standup", "U01NY", {"done": "API and docs"}), at, ZONES)
    assert edited.state.steps["standup"].answers["U01NY"] == {"done": "API and docs", "blockers": None}
    closed = advance(WORKFLOW, edited.state, ev.StandupAnswer("standup", "U02BER", {"done": "x"}), at, ZONES)
    too_late = advance(WORKFLOW, closed.state, ev.StandupAnswer("standup", "U01NY", {"done": "changed"}), at, ZONES)
    assert too_late.code == "run_finished"
