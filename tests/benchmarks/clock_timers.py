"""The clock under 10,000 pending timers due over one minute.

Prints the lateness of firings (p50 / p99 / max: when the engine applied the timer minus when
it was due), the clock's CPU use while idle afterwards, and the process's resident memory;
the baseline is a bare APScheduler running the same number of no-op date jobs in this process.

    python -m tests.benchmarks.clock_timers [--timers 10000] [--spread 60] [--idle 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import text

from bot.scheduling.clock import Clock
from tests.benchmarks.setup import service_for

WORKFLOW = "id: wait\nsteps:\n  - id: answer\n    ask: starter\n    remind: [1h]\n"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the timers are due over")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()

    service, versions, folder = service_for(WORKFLOW)
    engine = service.engine
    print(f"setting up {args.timers} runs, each with one pending reminder ...", flush=True)
    for n in range(args.timers):
        service.start("wait", "U0BENCH", {}, key=f"s{n}")
    # Spread the reminders evenly over the next `spread` seconds, starting shortly.
    start = datetime.now(UTC) + timedelta(seconds=15)
    with engine.begin() as conn:
        keys = [k for (k,) in conn.execute(text("select key from timers where kind = 'reminder' order by id"))]
        conn.execute(text("update timers set due_at = :d where key = :k"),
                     [{"k": k, "d": start + timedelta(seconds=args.spread * i / len(keys))} for i, k in enumerate(keys)])

    rss_before = rss_mb()
    clock = Clock(service, versions, workflows_dir=str(folder))
    clock.start()
    deadline = time.monotonic() + 15 + args.spread + 60
    while len(clock.lateness) < len(keys) and time.monotonic() < deadline:
        time.sleep(0.5)
    fired = len(clock.lateness)
    rss_after = rss_mb()
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(args.idle)
    idle_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
    clock.shutdown()
    with engine.connect() as conn:
        reminders = conn.execute(text("select count(*) from outbox where cast(payload as text) like '%reminder%'")).scalar_one()
    engine.dispose()

    late = clock.lateness
    base = baseline(len(keys), args.spread)
    print(f"clock: {len(keys)} timers due over {args.spread:.0f} s on SQLite; fired {fired}, reminders posted {reminders}")
    print(f"{'':<22} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    print(f"{'conductor clock':<22} {statistics.median(late):>8.3f} {percentile(late, 99):>8.3f} {max(late):>8.3f}")
    print(f"{'bare APScheduler':<22} {statistics.median(base):>8.3f} {percentile(base, 99):>8.3f} {max(base):>8.3f}")
    print(f"p99 ratio to the bare scheduler: {percentile(late, 99) / max(percentile(base, 99), 1e-6):.1f}x")
    print(f"idle CPU after the burst: {idle_cpu:.2f}% of one core over {args.idle:.0f} s")
    print(f"resident memory: {rss_before:.0f} MB before the clock, {rss_after:.0f} MB with {len(keys)} timers scheduled and fired")


if __name__ == "__main__":
    main()
