"""Durable transitions per second, and milliseconds per automated step.

Drives N runs of a workflow of automated no-op steps through the real service (every
transition committed: run state, step run, timers, outbox, audit), answering each automation
at once, on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL. Two baselines, measured in
the same process: the engine's pure decision (`advance` on the same runs, no database), and
the bare cost of one committed transaction that writes one row.

Target: 0.3 ms per automated step on SQLite (median); no target was set for PostgreSQL.

    python -m tests.benchmarks.engine_throughput [--runs 200] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.definitions.loader import load_bytes
from bot.definitions.workflow import Workflow
from bot.engine import events as ev
from bot.engine.effects import RunAutomation
from bot.engine.machine import Accepted, advance, start_run
from bot.engine.permissions import StaticDirectory
from bot.store.db import make_engine
from tests.benchmarks.setup import percentile, scratch_folder, service_for

TARGET_MS_PER_STEP_SQLITE = 0.3


@dataclass(frozen=True)
class Decision:
    """The pure engine's cost of one automated step: `advance` alone, no database."""

    ms_median: float
    ms_p99: float


@dataclass(frozen=True)
class EngineFigures:
    database: str
    runs: int
    steps: int
    completed: int
    transitions_per_s: float
    ms_per_step_median: float
    ms_per_step_p99: float
    ms_per_step_mean: float
    baseline_commit_ms: float  # median of one committed one-row insert
    decision: Decision

    @property
    def lost(self) -> int:
        """Runs that did not complete: a durable engine never leaves one behind."""
        return self.runs - self.completed


def workflow_yaml(steps: int) -> str:
    body = "\n".join(f"  - id: s{n}\n    uses: bench.noop:run\n    timeout: 1m" for n in range(steps))
    return f"id: bench\nsteps:\n{body}\n"


def drive(url: str, runs: int, steps: int, workdir: Path | None = None) -> dict[str, float]:
    service, _, _ = service_for(workflow_yaml(steps), url=url, workdir=workdir)
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
    engine.dispose()
    return {
        "completed": done,
        "transitions_per_s": transitions / elapsed,
        "ms_per_step_median": statistics.median(step_times) * 1000,
        "ms_per_step_p99": percentile(step_times, 99) * 1000,
        "ms_per_step_mean": elapsed / (runs * steps) * 1000,
    }


def decide(workflow: Workflow, runs: int) -> Decision:
    """The same runs through the pure engine: `advance` on each automation's success, timed
    alone (the service adds parsing the state, the statements and the commit around it)."""
    directory, now = StaticDirectory(), datetime.now(UTC)
    times: list[float] = []
    for n in range(runs):
        outcome = start_run(workflow, run_id=f"r{n}", version="v", actor=None, inputs={}, now=now, directory=directory)
        while isinstance(outcome, Accepted) and (todo := [e for e in outcome.effects if isinstance(e, RunAutomation)]):
            event = ev.AutomationSucceeded(todo[0].step_id, todo[0].attempt, todo[0].try_number, {})
            t0 = time.perf_counter()
            outcome = advance(workflow, outcome.state, event, now, directory, owned=True)
            times.append(time.perf_counter() - t0)
    return Decision(statistics.median(times) * 1000, percentile(times, 99) * 1000)


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


def databases(stack: ExitStack, postgres_url: str | None, workdir: Path | None) -> list[tuple[str, str]]:
    found = [("sqlite", f"sqlite:///{scratch_folder(workdir)}/bench.db")]
    if postgres_url:
        from tests.dbutil import fresh_postgres_schema

        found.append(("postgresql", stack.enter_context(fresh_postgres_schema(postgres_url))))
    return found


def measure(runs: int = 200, steps: int = 10, *, commits: int = 2000, postgres_url: str | None = None,
            workdir: Path | None = None) -> list[EngineFigures]:
    """One row per database: SQLite always, PostgreSQL when `postgres_url` is given (in a
    throwaway schema)."""
    loaded, problems = load_bytes("bench.yaml", workflow_yaml(steps).encode())
    assert loaded is not None, problems
    decision = decide(loaded.workflow, runs)
    rows: list[EngineFigures] = []
    with ExitStack() as stack:
        for name, url in databases(stack, postgres_url, workdir):
            figures = drive(url, runs, steps, workdir)
            rows.append(EngineFigures(database=name, runs=runs, steps=steps, **figures,  # type: ignore[arg-type]
                                      baseline_commit_ms=baseline(url, commits), decision=decision))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rows = measure(args.runs, args.steps, postgres_url=os.environ.get("TEST_DATABASE_URL"))
    print(f"engine throughput: {args.runs} runs x {args.steps} automated no-op steps, every transition committed")
    print(f"pure decision (advance, no database): {rows[0].decision.ms_median:.3f} ms median, "
          f"{rows[0].decision.ms_p99:.3f} ms p99 per step")
    print(f"{'database':<11} {'transitions/s':>14} {'ms/step median':>15} {'p99':>7} {'mean':>7} {'bare commit ms':>15} {'ratio':>6}")
    for row in rows:
        ratio = row.ms_per_step_median / row.baseline_commit_ms
        print(f"{row.database:<11} {row.transitions_per_s:>14.0f} {row.ms_per_step_median:>15.3f} "
              f"{row.ms_per_step_p99:>7.3f} {row.ms_per_step_mean:>7.3f} {row.baseline_commit_ms:>15.3f} {ratio:>6.1f}")
        if row.lost:
            print(f"  {row.lost} of {row.runs} runs did not complete on {row.database}")


if __name__ == "__main__":
    main()
