"""Durable transitions per second, and milliseconds per automated step.

Drives N runs of a workflow of automated no-op steps through the real service (every
transition committed: run state, step run, timers, outbox, audit), answering each automation
at once, on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL. The baseline is the bare
cost of one committed transaction that writes one row, measured in the same process.

    python -m tests.benchmarks.engine_throughput [--runs 200] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack

from sqlalchemy import text

from bot.engine import events as ev
from bot.store.db import make_engine
from tests.benchmarks.setup import service_for


def workflow_yaml(steps: int) -> str:
    body = "\n".join(f"  - id: s{n}\n    uses: bench.noop:run\n    timeout: 1m" for n in range(steps))
    return f"id: bench\nsteps:\n{body}\n"


def drive(url: str, runs: int, steps: int) -> dict[str, float]:
    service, _, _ = service_for(workflow_yaml(steps), url=url)
    engine, sessions = service.engine, service.sessions
    step_times: list[float] = []
    transitions = 0
    started = time.perf_counter()
    for n in range(runs):
        result = service.start("bench", None, {}, key=f"start:{n}")
        transitions += 1
        while result.automations:
            request = result.automations[0]
            t0 = time.perf_counter()
            # Automation results carry no inbound key: the engine applies a result only to the
            # try it belongs to (attempt and try number), which makes a repeat a no-op.
            result = service.handle(
                result.run_id, ev.AutomationSucceeded(request.step_id, request.attempt, request.try_number, {}),
            )
            step_times.append(time.perf_counter() - t0)
            transitions += 1
    elapsed = time.perf_counter() - started
    with sessions() as session:
        done = session.execute(text("select count(*) from runs where status = 'completed'")).scalar_one()
    assert done == runs, f"only {done} of {runs} runs completed"
    engine.dispose()
    return {
        "transitions_per_s": transitions / elapsed,
        "ms_per_step_median": statistics.median(step_times) * 1000,
        "ms_per_step_p99": statistics.quantiles(step_times, n=100)[98] * 1000,
        "ms_per_step_mean": elapsed / (runs * steps) * 1000,
    }


def baseline(url: str, count: int = 2000) -> float:
    """Milliseconds for one committed transaction inserting one small row."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("create table if not exists bench_baseline (id integer primary key, v text)"))
    times = []
    for n in range(count):
        t0 = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text("insert into bench_baseline (id, v) values (:i, 'x')"), {"i": n})
        times.append(time.perf_counter() - t0)
    engine.dispose()
    return statistics.median(times) * 1000


def databases(stack: ExitStack) -> list[tuple[str, str]]:
    found = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        from tests.dbutil import fresh_postgres_schema

        found.append(("postgresql", stack.enter_context(fresh_postgres_schema(base))))
    return found


def measure(runs: int, steps: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with ExitStack() as stack:
        for name, url in databases(stack):
            figures = drive(url, runs, steps)
            rows.append({"database": name, **figures, "baseline_commit_ms": baseline(url)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(f"engine throughput: {args.runs} runs x {args.steps} automated no-op steps, every transition committed")
    print(f"{'database':<11} {'transitions/s':>14} {'ms/step median':>15} {'p99':>7} {'mean':>7} {'bare commit ms':>15} {'ratio':>6}")
    for row in measure(args.runs, args.steps):
        ratio = row["ms_per_step_median"] / row["baseline_commit_ms"]  # type: ignore[operator]
        print(f"{row['database']:<11} {row['transitions_per_s']:>14.0f} {row['ms_per_step_median']:>15.3f} "
              f"{row['ms_per_step_p99']:>7.3f} {row['ms_per_step_mean']:>7.3f} {row['baseline_commit_ms']:>15.3f} {ratio:>6.1f}")


if __name__ == "__main__":
    main()
