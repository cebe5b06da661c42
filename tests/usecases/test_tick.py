"""One tick (`bot.usecases.tick`) on a real database: what is due at a moment is done once,
however often that moment ticks and however many tickers (clocks) tick it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.engine import events as ev
from bot.engine.journal import START_RUN
from bot.engine.service import Dispatch
from bot.store.models import Timer
from bot.usecases.tick import Ticker, TickReport
from tests.harness import START, Harness

NUDGED = """
id: nudged
steps:
  - id: nudge
    ask: starter
    remind: [1h]
    outputs: {ok: boolean}
"""
CHAINED = """
id: chained
steps:
  - id: first
    uses: tests.scheduling.automations:ledger
  - id: second
    uses: tests.scheduling.automations:ledger
"""
HOUR = START + timedelta(hours=1)


@pytest.fixture
def h(migrated_db_url, tmp_path: Path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "nudged.yaml").write_text(NUDGED)
    (folder / "chained.yaml").write_text(CHAINED)
    harness = Harness(migrated_db_url, [str(folder)])
    yield harness
    harness.close()


class Runner:
    """Takes claimed automations as the clock's worker would; `answer` also records their
    success, as the rehearsal's inline worker does."""

    def __init__(self, h: Harness, *, answer: bool = False):
        self.h, self.answer = h, answer
        self.taken: list[Dispatch] = []

    def __call__(self, dispatch: Dispatch) -> None:
        self.taken.append(dispatch)
        if self.answer:
            request = dispatch.request
            self.h.service.handle(dispatch.run_id, ev.AutomationSucceeded(
                request.step_id, request.attempt, request.try_number, {}))


def reminders(h: Harness) -> int:
    return h.count("select count(*) from outbox where cast(payload as text) like '%reminder%'")


def ask_for_a_run(h: Harness, run_id: str, key: str, due_at=START) -> None:
    """A pending start, as a stand-up's blocker writes it (`StartRun`)."""
    with h.engine.begin() as conn:
        conn.execute(insert(Timer.__table__).values(
            run_id=run_id, step_id=None, kind=START_RUN, due_at=due_at, key=key,
            payload={"workflow_id": "nudged", "inputs": {}, "channel": "C0TEST"}))


def test_a_due_timer_fires_once_even_when_the_same_moment_ticks_twice(h):
    ticker = Ticker(h.service, run=Runner(h))
    h.start("nudged", "U09ME")
    assert ticker.tick(START) == TickReport()  # nothing due yet: the reminder is an hour away
    assert ticker.tick(HOUR - timedelta(seconds=1)).timers_fired == 0
    assert ticker.tick(HOUR) == TickReport(timers_fired=1)
    assert ticker.tick(HOUR) == TickReport()
    assert ticker.tick(HOUR + timedelta(minutes=5)) == TickReport()
    assert reminders(h) == 1
    assert h.count("select count(*) from timers where kind = 'reminder' and fired_at is not null") == 1


def test_two_tickers_on_one_database_fire_each_timer_once(h):
    runs = [h.start("nudged", "U09ME").run_id for _ in range(3)]
    first, second = Ticker(h.service, run=Runner(h)), Ticker(h.service, run=Runner(h))
    assert first.tick(HOUR).timers_fired == len(runs)
    assert second.tick(HOUR).timers_fired == 0
    assert reminders(h) == len(runs)


def test_each_timer_fired_is_told_with_its_due_moment(h):
    run = h.start("nudged", "U09ME").run_id
    told = []
    Ticker(h.service, run=Runner(h), fired=lambda key, due, result: told.append((key, result.status))).tick(HOUR)
    [(key, status)] = told
    assert key.startswith(f"{run}:nudge") and status == "accepted"


def test_pending_runs_start_once_when_due(h):
    asking = h.start("nudged", "U09ME").run_id
    ask_for_a_run(h, asking, "blocker-1")
    ask_for_a_run(h, asking, "blocker-later", due_at=HOUR + timedelta(minutes=1))
    ticker = Ticker(h.service, run=Runner(h))
    assert ticker.tick(START).runs_started == 1
    assert ticker.tick(START).runs_started == 0
    assert h.count("select count(*) from runs") == 2
    assert ticker.tick(HOUR + timedelta(minutes=1)) == TickReport(timers_fired=2, runs_started=1)
    assert h.count("select count(*) from runs") == 3


def test_automations_due_are_claimed_once_and_handed_to_the_runner(h):
    run = h.start("chained", None).run_id
    runner, other = Runner(h), Runner(h)
    assert Ticker(h.service, run=runner).tick(START) == TickReport(automations_claimed=1)
    assert Ticker(h.service, run=other).tick(START) == TickReport()
    assert Ticker(h.service, run=runner).tick(START) == TickReport()
    [dispatch] = runner.taken
    assert (dispatch.run_id, dispatch.request.step_id, dispatch.request.try_number) == (run, "first", 1)
    assert other.taken == []


def test_an_automation_run_inline_makes_the_next_one_due_for_the_next_tick(h):
    """What the rehearsal's settling leans on: a tick that moved something may have made more
    due at the same moment, and ticking until nothing moves finishes the run."""
    run = h.start("chained", None).run_id
    runner = Runner(h, answer=True)
    ticker = Ticker(h.service, run=runner)
    reports = [ticker.tick(START) for _ in range(3)]
    assert [r.automations_claimed for r in reports] == [1, 1, 0]
    assert [d.request.step_id for d in runner.taken] == ["first", "second"]
    assert h.state(run).status.value == "completed"


def test_messages_are_delivered_until_a_pass_sends_nothing(h):
    passes = iter([3, 2, 0, 7])
    ticker = Ticker(h.service, run=Runner(h), deliver=lambda: next(passes))
    report = ticker.tick(START)
    assert report == TickReport(messages_delivered=5) and report.moved == 5
    assert next(passes) == 7  # the third pass sent nothing: no fourth


def test_everything_due_at_once_is_counted(h):
    h.start("nudged", "U09ME")
    asking = h.start("nudged", "U09ME").run_id
    ask_for_a_run(h, asking, "blocker-1", due_at=HOUR)
    h.now = HOUR  # (an automation's try times out after 5 minutes)
    h.start("chained", None)
    runner = Runner(h)
    report = Ticker(h.service, run=runner, deliver=iter([4, 0]).__next__).tick(HOUR)
    assert report == TickReport(timers_fired=2, runs_started=1, automations_claimed=1, messages_delivered=4)
    assert report.moved == 8 and len(runner.taken) == 1


def test_a_closing_ticker_takes_no_new_work(h):
    asking = h.start("nudged", "U09ME").run_id
    ask_for_a_run(h, asking, "blocker-1")
    h.start("chained", None)
    delivered = []
    ticker = Ticker(h.service, run=Runner(h), deliver=lambda: delivered.append(1) or 0, closing=lambda: True)
    assert ticker.tick(START) == TickReport()
    assert ticker.tick(HOUR) == TickReport()
    assert delivered == []
    assert h.count("select count(*) from timers where fired_at is not null or cancelled_at is not null") == 0
    assert h.count("select count(*) from runs") == 2


def test_a_stop_met_during_a_tick_ends_it_where_it_is(h):
    for _ in range(3):
        h.start("nudged", "U09ME")
    h.now = HOUR
    h.start("chained", None)
    stopping = []
    ticker = Ticker(h.service, run=Runner(h), closing=lambda: bool(stopping),
                    fired=lambda key, due, result: stopping.append(key))
    assert ticker.tick(HOUR) == TickReport(timers_fired=1)  # the stop came after the first timer
    assert reminders(h) == 1
    # The rest are rows: the next clock's tick does them.
    assert Ticker(h.service, run=Runner(h)).tick(HOUR) == TickReport(timers_fired=2, automations_claimed=1)
