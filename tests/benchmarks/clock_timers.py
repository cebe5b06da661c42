"""The clock under 10,000 pending timers due over one minute.

Prints the lateness of firings (p50 / p99 / max: when the engine applied the timer minus when
it was due), the clock's CPU use while idle afterwards, and the process's resident memory;
the baseline is a bare APScheduler running the same number of no-op date jobs in this process.
Also counts timers lost (never fired) and doubled (a run reminded twice).

Targets: lateness p99 <= 1 s, idle CPU < 2 % of one core, resident memory <= 150 MB.

    python -m tests.benchmarks.clock_timers [--timers 10000] [--spread 60] [--idle 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import text

from bot.scheduling.clock import Clock
from tests.benchmarks.setup import percentile, service_for

WORKFLOW = "id: wait\nsteps:\n  - id: answer\n    ask: starter\n    remind: [1h]\n"

TARGET_P99_S = 1.0
TARGET_IDLE_CPU_PERCENT = 2.0
TARGET_RSS_MB = 150.0

# Reminder messages beyond the first of each run: a timer applied twice.
_DOUBLED = text("select count(*) - count(distinct run_id) from outbox "
                "where kind = 'post' and payload like '%\"kind\": \"reminder\"%'")
_UNFIRED = text("select count(*) from timers where kind = 'reminder' and fired_at is null")


@dataclass(frozen=True)
class Lateness:
    """Seconds from due to applied: p50, p99, max."""

    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Lateness:
        return cls(statistics.median(values), percentile(values, 99), max(values))


@dataclass(frozen=True)
class ClockFigures:
    timers: int
    spread: float
    idle_seconds: float
    fired: int
    reminders: int
    lost: int
    doubled: int
    lateness: Lateness
    bare: Lateness  # a bare APScheduler firing no-op jobs on the same schedule
    idle_cpu_percent: float
    rss_before_mb: float  # the process with the runs set up, before the clock starts
    rss_after_mb: float


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(count: int, spread: float) -> list[float]:
    """Lateness of a bare APScheduler firing `count` no-op date jobs over `spread` seconds."""
    late: list[float] = []
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start()
    start = datetime.now(UTC) + timedelta(seconds=2)
    for n in range(count):
        due = start + timedelta(seconds=spread * n / count)
        scheduler.add_job(lambda due=due: late.append((datetime.now(UTC) - due).total_seconds()),
                          DateTrigger(run_date=due), misfire_grace_time=None)
    deadline = time.monotonic() + spread + 30
    while len(late) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    scheduler.shutdown()
    return late


def measure(timers: int = 10_000, spread: float = 60.0, idle: float = 20.0, *, lead: float = 15.0,
            workdir: Path | None = None) -> ClockFigures:
    """Set up `timers` runs each with one reminder, due evenly over `spread` seconds starting
    `lead` seconds from now (time for the clock to start and schedule them), let the clock fire
    them, then measure its idle CPU for `idle` seconds."""
    service, versions, folder = service_for(WORKFLOW, workdir=workdir)
    engine = service.engine
    for n in range(timers):
        service.start("wait", "U0BENCH", {}, key=f"s{n}")
    start = datetime.now(UTC) + timedelta(seconds=lead)
    with engine.begin() as conn:
        keys = [k for (k,) in conn.execute(text("select key from timers where kind = 'reminder' order by id"))]
        conn.execute(text("update timers set due_at = :d where key = :k"),
                     [{"k": k, "d": start + timedelta(seconds=spread * i / len(keys))} for i, k in enumerate(keys)])

    rss_before = rss_mb()
    clock = Clock(service, versions, workflows_dir=str(folder))
    clock.start()
    deadline = time.monotonic() + lead + spread + 60
    while len(clock.lateness) < len(keys) and time.monotonic() < deadline:
        time.sleep(0.5 if spread >= 10 else 0.05)
    fired = len(clock.lateness)
    rss_after = rss_mb()
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(idle)
    idle_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
    clock.shutdown()
    with engine.connect() as conn:
        reminders = conn.execute(text("select count(*) from outbox where cast(payload as text) like '%reminder%'")).scalar_one()
        doubled = conn.execute(_DOUBLED).scalar_one()
        unfired = conn.execute(_UNFIRED).scalar_one()
    engine.dispose()
    return ClockFigures(
        timers=len(keys), spread=spread, idle_seconds=idle, fired=fired, reminders=reminders,
        lost=unfired, doubled=doubled, lateness=Lateness.of(clock.lateness or [float("nan")]),
        bare=Lateness.of(baseline(len(keys), spread) or [float("nan")]), idle_cpu_percent=idle_cpu,
        rss_before_mb=rss_before, rss_after_mb=rss_after,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the timers are due over")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    print(f"setting up {args.timers} runs, each with one pending reminder ...", flush=True)
    f = measure(args.timers, args.spread, args.idle)
    print(f"clock: {f.timers} timers due over {f.spread:.0f} s on SQLite; fired {f.fired}, reminders posted {f.reminders}"
          f"; lost {f.lost}, doubled {f.doubled}")
    print(f"{'':<22} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    print(f"{'conductor clock':<22} {f.lateness.p50:>8.3f} {f.lateness.p99:>8.3f} {f.lateness.max:>8.3f}")
    print(f"{'bare APScheduler':<22} {f.bare.p50:>8.3f} {f.bare.p99:>8.3f} {f.bare.max:>8.3f}")
    print(f"p99 ratio to the bare scheduler: {f.lateness.p99 / max(f.bare.p99, 1e-6):.1f}x")
    print(f"idle CPU after the burst: {f.idle_cpu_percent:.2f}% of one core over {f.idle_seconds:.0f} s")
    print(f"resident memory: {f.rss_before_mb:.0f} MB before the clock, {f.rss_after_mb:.0f} MB with {f.timers} timers scheduled and fired")


if __name__ == "__main__":
    main()
