"""One tick of the conductor's clock: everything that is due at one moment, done once.

The real clock (`bot.scheduling.clock`, every second on the wall clock) and the shell's
rehearsal (`bot.shell.rehearsal`, at each due moment of its virtual time) both call
`Ticker.tick(now)`, so what "time passing" does is written here only. For that `now` a tick:

1. fires every engine timer due by then (reminders, timeouts, retries, stand-up rounds), each
   through `ConductorService.fire_timer`, whose key makes a second firing a duplicate;
2. starts the runs other runs asked for (`start_pending_runs`);
3. claims the automations due (`claim_dispatches`, each row handed out once) and gives each to
   the caller's `run` (the clock's worker pool queues it; the rehearsal runs it inline);
4. delivers the outbox through the caller's `deliver`, if it has one (see `Ticker`).

It returns what it did (`TickReport`), which is how the rehearsal knows whether time moved
anything. Scheduled starts (`on.schedule`) are not part of a tick: they are cron moments,
which the clock leaves to APScheduler's cron jobs and the rehearsal finds itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.engine.service import ConductorService, Dispatch, Result

# Timers fired in one tick. More due at once (a clock back after an outage) are fired by the
# next ticks: one tick stays short, so a stop or an automation claim never waits behind them.
TIMER_LIMIT = 500

Run = Callable[[Dispatch], None]
Deliver = Callable[[], int]
Fired = Callable[[str, datetime, Result], None]


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    timers_fired: int = 0  # accepted firings (a duplicate, or a timer the run no longer wants, is not one)
    runs_started: int = 0  # accepted starts of pending runs
    automations_claimed: int = 0  # handed to `run`
    messages_delivered: int = 0  # sent by `deliver`

    @property
    def moved(self) -> int:
        """How many things happened: 0 when this moment had nothing (more) to do."""
        return self.timers_fired + self.runs_started + self.automations_claimed + self.messages_delivered


class Ticker:
    """Does what is due at a moment, through one engine service.

    `run(dispatch)` runs a claimed automation. A claim is final (the row is marked), so `run`
    must take it: the clock's worker queues it, the rehearsal runs it on the spot.

    `deliver()` is one pass of the messenger (`Messenger.deliver_due`), which reads the time
    from its own clock; a tick calls it until a pass sends nothing. The rehearsal passes it:
    every message of a moment is on screen before time moves on. The real clock passes None:
    there the messenger has a thread of its own, because delivery keeps Slack's pace (a token
    bucket per channel, `Retry-After` on 429) and a slow Slack call must not hold back timers;
    a second sender would also undo its one-sender order per channel.

    `closing()` true means stop taking new work (the clock is stopping): looked at before each
    timer and before each step, so a tick that meets it ends where it is. Whatever it leaves
    is rows, for the next tick or the next clock.

    `fired(key, due_at, result)` is told of each timer this ticker fired (the clock keeps its
    bookkeeping of the date jobs it scheduled and measures lateness with it).
    """

    def __init__(self, service: ConductorService, *, run: Run, deliver: Deliver | None = None,
                 closing: Callable[[], bool] = lambda: False, fired: Fired | None = None,
                 timer_limit: int = TIMER_LIMIT):
        self.service = service
        self.run = run
        self.deliver = deliver
        self.closing = closing
        self.fired = fired
        self.timer_limit = timer_limit

    def tick(self, now: datetime) -> TickReport:
        """Do everything due by `now`, once: timers, pending runs, automations, messages."""
        timers = self.fire_due(now)
        if self.closing():
            return TickReport(timers)
        runs = self.start_pending(now)
        if self.closing():
            return TickReport(timers, runs)
        claimed = self.claim(now)
        return TickReport(timers, runs, claimed, self.deliver_all())

    def fire_due(self, now: datetime) -> int:
        """Fire the timers due by `now`, soonest first; how many were accepted."""
        fired = 0
        for run_id, key, due_at in self.service.upcoming_timers(now, limit=self.timer_limit):
            if self.closing():
                break
            result = self.service.fire_timer(run_id, key, now)
            fired += result.accepted
            if self.fired is not None:
                self.fired(key, due_at, result)
        return fired

    def start_pending(self, now: datetime) -> int:
        """Start the runs other runs asked for by `now`; how many started."""
        return sum(result.accepted for result in self.service.start_pending_runs(now))

    def claim(self, now: datetime) -> int:
        """Claim the automations due by `now` and hand each to `run`; how many."""
        if self.closing():
            return 0  # claim nothing more: a claimed automation would have to run here
        dispatches = self.service.claim_dispatches(now)
        for dispatch in dispatches:
            self.run(dispatch)
        return len(dispatches)

    def deliver_all(self) -> int:
        """Deliver until a pass sends nothing (more); how many messages were sent."""
        if self.deliver is None:
            return 0
        delivered = 0
        while not self.closing():
            sent = self.deliver()
            if not sent:
                break
            delivered += sent
        return delivered
