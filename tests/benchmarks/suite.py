"""Every benchmark, one after the other in this process, each in a fresh temporary folder
and database, turned into the rows of one table.

The measuring is the benchmarks' own (`measure` / `run` in each script); this module only
chooses sizes, runs them in a sensible order and says what each figure is compared with.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.benchmarks import (
    clock_timers,
    engine_throughput,
    insights,
    python_automation,
    slack_ack,
    standup_fanout,
)
from tests.benchmarks.table import Row, Target

T = TypeVar("T")
ZERO = Target("=", 0)


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is. FULL is what the README quotes."""

    name: str
    engine_runs: int = 200
    engine_steps: int = 10
    engine_commits: int = 2000  # bare one-row commits timed for the baseline
    clock_timers: int = 10_000
    clock_spread: float = 60.0  # seconds the timers fall due over
    clock_lead: float = 15.0  # seconds between setting the timers up and the first one due
    clock_idle: float = 20.0  # seconds of idle CPU measurement
    ack_rate: float = 100.0  # requests per second
    ack_seconds: float = 10.0
    ack_latency: float = slack_ack.SLACK_LATENCY  # seconds the local Slack takes to answer a Web API call
    fanout_people: int = 1000
    fanout_workspace_rate: float = 50.0  # messages per second the local Slack allows a workspace
    fanout_latency: float = 0.15  # seconds the local Slack takes to answer each call
    fanout_slack_timeout: float = 10.0  # the clocks' SLACK_TIMEOUT_SECONDS (a post cut off by the kill waits 3 of these)
    python_tries: int = 200  # tries of a no-op Python automation, spaced and back to back
    insights_step_runs: int = 100_000  # step runs in the history `conductor insights` reads
    insights_repeat: int = 5


FULL = Sizes("full")
QUICK = Sizes("quick", engine_runs=40, engine_commits=400, clock_timers=1000, clock_spread=5, clock_lead=3,
              clock_idle=3, ack_rate=100, ack_seconds=3, fanout_people=200, fanout_slack_timeout=2.0, python_tries=50,
              insights_step_runs=10_000, insights_repeat=2)
TINY = Sizes("tiny", engine_runs=5, engine_steps=5, engine_commits=100, clock_timers=100, clock_spread=1,
             clock_lead=1, clock_idle=0.5, ack_rate=40, ack_seconds=0.5, fanout_people=20, fanout_workspace_rate=200,
             fanout_latency=0.02, fanout_slack_timeout=1.0, python_tries=5,
             insights_step_runs=500, insights_repeat=1)
PRESETS = {sizes.name: sizes for sizes in (FULL, QUICK, TINY)}

DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def expected_keys(postgres: bool) -> list[str]:
    """The key of every row the table has, in order."""
    engine = ["ms_per_step_median", "ms_per_step_p99", "transitions_per_s", "runs_lost"]
    names = ["sqlite", "postgresql"] if postgres else ["sqlite"]
    return [
        *(f"engine.{db}.{figure}" for db in names for figure in engine),
        "clock.lateness_p50", "clock.lateness_p99", "clock.lateness_max", "clock.idle_cpu", "clock.rss",
        "clock.lost", "clock.doubled",
        "ack.reads.median", "ack.reads.p99", "ack.reads.max", "ack.writes.median", "ack.writes.p99", "ack.writes.max",
        "ack.all.median", "ack.all.p99", "ack.missed", "ack.not_applied",
        "fanout.people_refresh", "fanout.seconds", "fanout.one_clock_seconds", "fanout.takeover",
        "fanout.lost", "fanout.doubled", "fanout.ratelimited",
        "python.per_try_median", "python.per_try_p99", "python.back_to_back_median", "python.failed",
        *(f"insights.{db}.seconds" for db in names),
    ]


def collect(sizes: Sizes, postgres_url: str | None = None, *,
            progress: Callable[[str], None] | None = None) -> list[Row]:
    """Run every benchmark at `sizes` and return the table's rows (PostgreSQL rows only with
    `postgres_url`). The clock goes first, so its memory and idle CPU are not those of the
    benchmarks before it."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    s = sizes
    say(f"clock: {s.clock_timers:,} timers over {s.clock_spread:g} s, {s.clock_idle:g} s idle ...")
    clock = _fresh(lambda w: clock_timers.measure(s.clock_timers, s.clock_spread, s.clock_idle,
                                                  lead=s.clock_lead, workdir=w))
    databases = "SQLite and PostgreSQL" if postgres_url else "SQLite"
    say(f"engine: {s.engine_runs} runs x {s.engine_steps} automated steps on {databases} ...")
    engine = _fresh(lambda w: engine_throughput.measure(s.engine_runs, s.engine_steps, commits=s.engine_commits,
                                                        postgres_url=postgres_url, workdir=w))
    say(f"Slack acks: {s.ack_rate:g} requests/s for {s.ack_seconds:g} s, reads and writes, Conductor and stock Bolt "
        f"(both modes), Web API {s.ack_latency * 1000:g} ms ...")
    ack = _fresh(lambda w: slack_ack.measure(s.ack_rate, s.ack_seconds, latency=s.ack_latency, workdir=w))
    say(f"stand-up fan-out: {s.fanout_people:,} people at {s.fanout_workspace_rate:g} messages/s, "
        f"{s.fanout_latency * 1000:g} ms per Slack call, one clock and a clock killed midway ...")
    fanout = _fresh(lambda w: standup_fanout.run(s.fanout_people, s.fanout_workspace_rate,
                                                 latency=s.fanout_latency, slack_timeout=s.fanout_slack_timeout,
                                                 workdir=w))
    say(f"python automations: {s.python_tries} tries in a child process, and in a thread ...")
    python = _fresh(lambda w: python_automation.measure(s.python_tries, workdir=w))
    say(f"insights: a history of {s.insights_step_runs:,} step runs on {databases} ...")
    insight = _fresh(lambda w: insights.measure(s.insights_step_runs, repeat=s.insights_repeat,
                                                postgres_url=postgres_url, workdir=w))
    return [*(row for figures in engine for row in engine_rows(figures)), *clock_rows(clock),
            *ack_rows(ack), *fanout_rows(fanout, s), *python_rows(python),
            *(row for figures in insight for row in insights_rows(figures))]


def _fresh(benchmark: Callable[[Path], T]) -> T:
    with _scratch() as workdir:
        return benchmark(workdir)


@contextmanager
def _scratch() -> Iterator[Path]:
    # Late deliveries of an app being shut down may still touch the folder: never fail on cleanup.
    with tempfile.TemporaryDirectory(prefix="conductor-bench-", ignore_cleanup_errors=True) as folder:
        try:
            yield Path(folder)
        finally:
            gc.collect()


def engine_rows(f: engine_throughput.EngineFigures) -> list[Row]:
    db = DATABASES[f.database]
    size = f"{f.runs} runs x {f.steps} steps"
    decision = "pure `advance`, no database"
    target = Target("≤", engine_throughput.TARGET_MS_PER_STEP_SQLITE, "ms") if f.database == "sqlite" else None
    return [
        Row(f"engine.{f.database}.ms_per_step_median", f"engine ms per automated step, median ({db}; {size})",
            f.ms_per_step_median, "ms", target, f.decision.ms_median, decision),
        Row(f"engine.{f.database}.ms_per_step_p99", f"engine ms per automated step, p99 ({db})",
            f.ms_per_step_p99, "ms", None, f.decision.ms_p99, decision),
        Row(f"engine.{f.database}.transitions_per_s", f"durable transitions/s ({db})",
            f.transitions_per_s, "/s", None, 1000 / f.baseline_commit_ms, "bare one-row commits"),
        Row(f"engine.{f.database}.runs_lost", f"engine runs not completed ({db})", f.lost, "", ZERO),
    ]


def clock_rows(f: clock_timers.ClockFigures) -> list[Row]:
    size = f"{f.timers:,} timers over {f.spread:g} s"
    bare = "bare APScheduler"
    return [
        Row("clock.lateness_p50", f"clock timer lateness p50 ({size}, SQLite)", f.lateness.p50, "s",
            None, f.bare.p50, bare),
        Row("clock.lateness_p99", "clock timer lateness p99", f.lateness.p99, "s",
            Target("≤", clock_timers.TARGET_P99_S, "s"), f.bare.p99, bare),
        Row("clock.lateness_max", "clock timer lateness max", f.lateness.max, "s", None, f.bare.max, bare),
        Row("clock.idle_cpu", f"clock idle CPU, % of one core ({f.idle_seconds:g} s)", f.idle_cpu_percent, "%",
            Target("<", clock_timers.TARGET_IDLE_CPU_PERCENT, "%")),
        Row("clock.rss", "resident memory with the timers fired", f.rss_after_mb, "MB",
            Target("≤", clock_timers.TARGET_RSS_MB, "MB"), f.rss_before_mb, "before the clock started"),
        Row("clock.lost", "clock timers lost", f.lost, "", ZERO),
        Row("clock.doubled", "clock timers doubled", f.doubled, "", ZERO),
    ]


def ack_rows(f: slack_ack.AckFigures) -> list[Row]:
    """Reads and writes each against stock Bolt answering the way we do (after the listener,
    `process_before_response=True`); all requests together against Bolt's default mode."""
    ours, like, default = f.conductor, f.stock, f.stock_default
    bolt = "stock Bolt, process_before_response=True"
    polled = "stock Bolt, default mode"
    median, p99 = Target("≤", slack_ack.TARGET_MEDIAN_MS, "ms"), Target("≤", slack_ack.TARGET_P99_MS, "ms")
    load = (f"{f.rate:g} requests/s for {f.seconds:g} s, half reads, half writes; "
            f"Slack's Web API answering in {f.latency * 1000:g} ms")
    return [
        Row("ack.reads.median", f"Slack ack median, reads: runs, list, mine, status, {f.active:,} runs active ({load})",
            ours.reads.median_ms, "ms", median, like.reads.median_ms, bolt),
        Row("ack.reads.p99", "Slack ack p99, reads", ours.reads.p99_ms, "ms", p99, like.reads.p99_ms, bolt),
        Row("ack.reads.max", "Slack ack max, reads", ours.reads.max_ms, "ms", None, like.reads.max_ms, bolt),
        Row("ack.writes.median", "Slack ack median, writes committed before the answer: start, approve, form, "
            "thread reply", ours.writes.median_ms, "ms", median, like.writes.median_ms, bolt),
        Row("ack.writes.p99", "Slack ack p99, writes", ours.writes.p99_ms, "ms", p99, like.writes.p99_ms, bolt),
        Row("ack.writes.max", "Slack ack max, writes", ours.writes.max_ms, "ms", None, like.writes.max_ms, bolt),
        Row("ack.all.median", "Slack ack median, all requests, against Bolt's default mode (it polls for the ack "
            "every 10 ms)", ours.every.median_ms, "ms", None, default.every.median_ms, polled),
        Row("ack.all.p99", "Slack ack p99, all requests, against Bolt's default mode", ours.every.p99_ms, "ms", None,
            default.every.p99_ms, polled),
        Row("ack.missed", f"Slack requests unanswered or over 3 s (of {ours.every.sent:,})", ours.every.missed, "",
            ZERO),
        Row("ack.not_applied", f"Slack writes answered but not in the database (of {f.writes_sent:,})",
            f.writes_not_applied, "", ZERO),
    ]


def fanout_rows(f: standup_fanout.FanoutFigures, sizes: Sizes) -> list[Row]:
    people, rate, ms = f.people, f.workspace_rate, f"{f.latency * 1000:g} ms"
    ratio = standup_fanout.TARGET_RATIO_TO_FLOOR
    target = Target("≤", float(f"{ratio * f.floor:.3g}"), "s", f"{ratio:g}x the floor")
    floor = "rate-limit floor"
    takeover = f.killed.takeover
    return [
        Row("fanout.people_refresh", f"people refresh, {people:,} people",
            f.refresh_seconds, "s", None, f.refresh_calls * f.latency, f"{f.refresh_calls} calls x {ms}"),
        Row("fanout.seconds", f"stand-up fan-out, {people:,} people at {rate:g} messages/s, {ms} per Slack call"
            f"{', method tiers' if f.tiers else ''}, clock process killed midway", f.killed.elapsed, "s", target,
            f.floor, floor),
        Row("fanout.one_clock_seconds", "stand-up fan-out, the same with one clock process (no kill)",
            f.one_clock.elapsed, "s", target, f.floor, floor),
        Row("fanout.takeover", "stand-up takeover: SIGKILL to the new clock's first prompt Slack accepted",
            float("nan") if takeover is None else takeover, "s", None, f.one_clock.clock_start,
            "a clock process's start to leading"),
        Row("fanout.lost", "stand-up prompts lost (both fan-outs)", f.lost, "", ZERO),
        Row("fanout.doubled", "stand-up prompts doubled (both fan-outs)", f.doubled, "", ZERO),
        Row("fanout.ratelimited", "stand-up 429 answers from Slack (both fan-outs)", f.ratelimited),
    ]


def python_rows(f: python_automation.PythonFigures) -> list[Row]:
    thread = "in-thread call"
    return [
        Row("python.per_try_median", f"python automation per try, median (child process, {f.tries} tries)",
            f.child_median_ms, "ms", None, f.thread_median_ms, thread),
        Row("python.per_try_p99", "python automation per try, p99 (child process)", f.child_p99_ms, "ms",
            None, f.thread_p99_ms, thread),
        Row("python.back_to_back_median", "python automation per try, median, tries back to back",
            f.back_to_back_median_ms, "ms", None, f.thread_median_ms, thread),
        Row("python.failed", "python automation tries failed", f.failed, "", ZERO),
    ]


def insights_rows(f: insights.InsightsFigures) -> list[Row]:
    db = DATABASES[f.database]
    return [Row(f"insights.{f.database}.seconds",
                f"insights report over {f.step_runs:,} step runs, median ({db}; {f.runs:,} runs, {f.audit_rows:,} audit rows)",
                f.median_seconds, "s", Target("≤", insights.TARGET_SECONDS, "s"))]
