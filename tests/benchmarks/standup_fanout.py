"""A stand-up for 1,000 people against a slow, rate-limited Slack, delivered by real
`conductor clock` processes: time to prompt everyone against the floor the limits allow,
and prompts lost or doubled when the clock is killed (SIGKILL) midway.

The local Slack answers every call after `latency` (150 ms), allows one message per second
per channel (each DM is its own channel, burst 1) and a workspace-wide 50 messages per
second (our choice: Slack publishes no workspace figure), and Slack's per-method tiers when
the local Slack has them. It holds 1,000 people (each with a time zone) and a user group of
all of them; the people tables are filled from it by `refresh_people` (timed on its own), and
the run is started in this process through the runtime `conductor clock` builds (its stored
directory reads the tables), on the same database the clock processes use.

Two fan-outs, each on a fresh database and a fresh local Slack:
- one clock: a `conductor clock` started just after the run, until everyone is prompted;
- killed: the same, but once Slack has accepted half the prompts the clock is SIGKILLed and
  a new `conductor clock` is started, which takes over and finishes.
Time to prompt everyone runs from the run's start (so it includes the clock's start-up) until
Slack has accepted a prompt for every person; the floor is (people + 1) / workspace rate
(every prompt and the run's header). Takeover: from the kill until Slack accepts the first
prompt the new clock sent.

Target: everyone prompted within 1.1x the floor; none lost, none doubled.

    python -m tests.benchmarks.standup_fanout [--people 1000] [--workspace-rate 50] [--latency 0.15]
        [--concurrency 16] [--slack-timeout 10] [--postgres URL]
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.localslack.channels import stable_id
from bot.localslack.web_api import Call, LocalSlack
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.people import refresh_people
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import OutboxMessage
from tests.dbutil import fresh_postgres_schema

WORKFLOW = """
id: big-standup
channel: "#all-hands"
roles: {team: [S0EVERYONE]}
steps:
  - id: standup
    participants: [team]
    questions: [{id: done, text: What did you finish?}]
    window: {opens: "00:00", closes: "23:59", timezone: UTC}
    working_days: [mon, tue, wed, thu, fri, sat, sun]
"""
GROUP = "S0EVERYONE"
TOKEN = "xoxb-bench"
ZONES = ("America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "Europe/London", "Europe/Lisbon",
         "Europe/Berlin", "Africa/Nairobi", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "UTC")
LEADING = "this process is the clock"
TARGET_RATIO_TO_FLOOR = 1.1
POLL_SECONDS = 0.02
SETTLE_SECONDS = 2.0  # after everyone is prompted: time for a late second prompt to show
OUTBOX = OutboxMessage.__table__


@dataclass(frozen=True)
class RunFigures:
    """One fan-out, from the run's start until Slack had a prompt for everyone."""

    elapsed: float  # seconds from the run's start until everyone was prompted (inf: never)
    prompted: int  # people with at least one prompt
    lost: int  # people with none
    doubled: int  # prompts beyond the first of a person
    ratelimited: int  # 429 answers from Slack, every method
    ratelimited_by_method: dict[str, int]
    calls_by_method: dict[str, int]
    clock_start: float  # seconds from starting the first clock process until it led
    clocks: int  # clock processes started
    killed_after: int | None = None  # prompts Slack had accepted when the clock was killed
    takeover: float | None = None  # seconds from the kill until Slack accepted the new clock's first prompt
    new_clock_leading: float | None = None  # seconds from the kill until the new clock led
    clock_cpu: float = float("nan")  # CPU seconds the clock processes used, all of them
    start_seconds: float = 0.0  # the run's start (its transition writes every prompt to the outbox)
    # Seconds from the run's start until Slack had accepted 1%, 50%, 90%, 99% of the people's prompts.
    progress: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FanoutFigures:
    people: int
    workspace_rate: float
    latency: float
    tiers: bool  # whether the local Slack applied Slack's per-method tiers
    floor: float  # the least time the rate limits allow
    refresh_seconds: float  # refresh_people against the local Slack, into empty tables
    refresh_calls: int
    one_clock: RunFigures
    killed: RunFigures

    @property
    def lost(self) -> int:
        return self.one_clock.lost + self.killed.lost

    @property
    def doubled(self) -> int:
        return self.one_clock.doubled + self.killed.doubled

    @property
    def ratelimited(self) -> int:
        return self.one_clock.ratelimited + self.killed.ratelimited


def slack_has_tiers() -> bool:
    return "tiers" in inspect.signature(LocalSlack.__init__).parameters


def run(people: int, workspace_rate: float, *, latency: float = 0.15, kill_after: int | None = None,
        concurrency: int = 16, slack_timeout: float = 10.0, postgres_url: str | None = None,
        workdir: Path | None = None, timeout: float | None = None) -> FanoutFigures:
    """Both fan-outs at this size, each on a fresh SQLite file (or a fresh schema in the database at
    `postgres_url`). `kill_after`: prompts Slack accepts before the kill (half by default);
    `slack_timeout`: the clocks' SLACK_TIMEOUT_SECONDS (its default); `timeout`: seconds a fan-out
    may take before the people not yet prompted count as lost."""
    kill_after = people // 2 if kill_after is None else kill_after
    floor = (people + 1) / workspace_rate
    # A serial messenger makes two calls (the DM's conversations.open, then the post) per person.
    timeout = timeout or 120 + floor * 3 + people * 2 * latency * 1.5
    fanout = _Fanout(people, workspace_rate, latency, concurrency, slack_has_tiers(), timeout, slack_timeout,
                     postgres_url)
    with tempfile.TemporaryDirectory(prefix="fanout-", dir=workdir, ignore_cleanup_errors=True) as folder:
        refresh_seconds, refresh_calls, one_clock = fanout.run_once(Path(folder) / "one-clock", None)
        _, _, killed = fanout.run_once(Path(folder) / "killed", kill_after)
    return FanoutFigures(people, workspace_rate, latency, fanout.tiers, floor, refresh_seconds, refresh_calls,
                         one_clock, killed)


@dataclass
class _Fanout:
    people: int
    workspace_rate: float
    latency: float
    concurrency: int
    tiers: bool
    timeout: float
    slack_timeout: float
    postgres_url: str | None

    def run_once(self, folder: Path, kill_after: int | None) -> tuple[float, int, RunFigures]:
        workflows = folder / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "standup.yaml").write_text(WORKFLOW)
        # The workspace: everyone with a time zone, and one group of them all.
        users = {f"U{n:06d}X": {"real_name": f"Person {n}", "tz": ZONES[n % len(ZONES)]} for n in range(self.people)}
        extra = {"tiers": True} if self.tiers else {}
        with ExitStack() as stack:
            url = f"sqlite:///{folder / 'bench.db'}"
            if self.postgres_url:
                url = stack.enter_context(fresh_postgres_schema(self.postgres_url))
            upgrade(url)
            slack = stack.enter_context(LocalSlack(users=users, groups={GROUP: list(users)}, token=TOKEN, rate=1.0,
                                                   burst=1, workspace_rate=self.workspace_rate, latency=self.latency,
                                                   **extra))
            settings = Settings(database_url=url, workflows_dir=str(workflows), slack_bot_token=TOKEN,
                                slack_api_url=slack.url)
            engine = make_engine(url)
            try:
                started = time.perf_counter()
                refreshed = refresh_people(make_client(settings), engine, datetime.now(UTC))
                refresh_seconds = time.perf_counter() - started
            finally:
                engine.dispose()
            assert refreshed.people == self.people and refreshed.memberships == self.people, refreshed
            figures = self._deliver(settings, slack, folder, kill_after)
        return refresh_seconds, refreshed.calls, figures

    def _deliver(self, settings: Settings, slack: LocalSlack, folder: Path, kill_after: int | None) -> RunFigures:
        runtime = build_runtime(settings)  # as `conductor clock` builds it: a stored directory over the tables
        env = {**os.environ, "DATABASE_URL": settings.database_url, "WORKFLOWS_DIR": settings.workflows_dir,
               "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.url, "SLACK_TIMEOUT_SECONDS": f"{self.slack_timeout:g}",
               "SLACK_MESSAGES_PER_SECOND": f"{self.workspace_rate:g}", "SLACK_CONCURRENCY": str(self.concurrency),
               "LOG_LEVEL": "info", "LOG_FORMAT": "text"}
        env.pop("METRICS_PORT", None)
        clocks: list[_ClockProcess] = []
        try:
            started, started_wall = time.monotonic(), time.time()
            result = runtime.service.start("big-standup", None, {}, key="fanout")
            assert result.status != "duplicate", result
            start_seconds = time.monotonic() - started
            clocks.append(_ClockProcess(env, folder / "clock-1.log"))
            watch = _Watch(slack, self.people, started)
            killed_at: float | None = None
            killed_after = None
            new_leading = None
            deadline = started + self.timeout
            while time.monotonic() < deadline and watch.prompted() < self.people:
                clocks[-1].look()
                if kill_after is not None and killed_at is None and watch.count >= kill_after:
                    clocks[-1].kill()
                    killed_at, killed_after = time.time(), watch.count
                    clocks.append(_ClockProcess(env, folder / "clock-2.log"))
                if killed_at is not None and new_leading is None and clocks[-1].look():
                    new_leading = time.time() - killed_at
                if not clocks[-1].alive():
                    raise RuntimeError(f"conductor clock exited:\n{clocks[-1].tail()}")
                time.sleep(POLL_SECONDS)
            elapsed = watch.done_at - started if watch.done_at is not None else float("inf")
            self._settle(runtime.engine)
        finally:
            for clock in clocks:
                clock.stop()
            runtime.close()
        calls = slack.calls
        prompts = Counter(dm for c in calls if (dm := prompt_dm(c)))
        takeover = None
        if killed_at is not None:
            after = [c.at + (getattr(c, "held", 0.0) or self.latency) for c in calls if c.at >= killed_at and prompt_dm(c)]
            takeover = min(after) - killed_at if after else None
        limited = Counter(c.method for c in calls if c.status == 429)
        return RunFigures(
            elapsed=elapsed, prompted=len(prompts), lost=self.people - len(prompts),
            doubled=sum(n - 1 for n in prompts.values()), ratelimited=sum(limited.values()),
            ratelimited_by_method=dict(limited), calls_by_method=dict(Counter(c.method for c in calls)),
            clock_start=clocks[0].led_after or float("nan"), clocks=len(clocks), killed_after=killed_after,
            takeover=takeover, new_clock_leading=new_leading, clock_cpu=sum(c.cpu for c in clocks),
            start_seconds=start_seconds,
            progress=_progress(calls, self.people, started_wall, self.latency))

    def _settle(self, engine) -> None:
        """Wait until nothing is left to send (a row given up on and sent again would show as
        a double), and a little longer for a call still on its way."""
        deadline = time.monotonic() + 30 + 4 * self.latency
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(OUTBOX)
                                    .where(OUTBOX.c.status.in_(("pending", "sending")))).scalar_one()
            if not left:
                break
            time.sleep(0.1)
        time.sleep(SETTLE_SECONDS + 2 * self.latency)


def _progress(calls: list[Call], people: int, started_wall: float, latency: float) -> dict[str, float]:
    """When each share of the people had their first prompt accepted (arrival + latency)."""
    first: dict[str, float] = {}
    for call in calls:
        dm = prompt_dm(call)
        if dm and dm not in first:
            first[dm] = call.at + latency - started_wall
    times = sorted(first.values())
    return {f"{share:g}%": times[min(len(times), math.ceil(people * share / 100)) - 1]
            for share in (1, 50, 90, 99, 100) if times}


def prompt_dm(call: Call) -> str | None:
    """The DM a post Slack accepted went to (None for anything else): the post names the DM's id,
    or the person (Slack posts that into the bot's DM with them)."""
    channel = str(call.params.get("channel") or "")
    if call.method != "chat.postMessage" or call.status != 200 or channel[:1] not in ("D", "U", "W"):
        return None
    return channel if channel.startswith("D") else stable_id("D", channel)


class _Watch:
    """What Slack has accepted so far: DMs with a prompt, counted from the calls it recorded."""

    def __init__(self, slack: LocalSlack, people: int, started: float):
        self.slack, self.people, self.started = slack, people, started
        self.seen = 0  # calls looked at
        self.unanswered: list[Call] = []  # looked at before Slack answered them: looked at again
        self.channels: set[str] = set()
        self.done_at: float | None = None

    @property
    def count(self) -> int:
        return len(self.channels)

    def prompted(self) -> int:
        calls = self.slack.calls
        # A call is recorded when it arrives and gets its status when answered.
        fresh, self.unanswered = [*self.unanswered, *calls[self.seen:]], []
        self.seen = len(calls)
        for call in fresh:
            if call.status == 0:
                self.unanswered.append(call)
            elif dm := prompt_dm(call):
                self.channels.add(dm)
        if self.done_at is None and len(self.channels) >= self.people:
            self.done_at = time.monotonic()
        return len(self.channels)


@dataclass
class _ClockProcess:
    """`conductor clock` as a real process, its output in one log."""

    env: dict[str, str]
    log: Path
    started: float = field(default_factory=time.monotonic)
    led_after: float | None = None
    cpu: float = float("nan")  # CPU seconds used, read as it was killed or stopped

    def __post_init__(self) -> None:
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "clock"], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)

    def look(self) -> bool:
        """Whether it leads yet (read from its log until it does)."""
        if self.led_after is None and LEADING in self.log.read_text(errors="replace"):
            self.led_after = time.monotonic() - self.started
        return self.led_after is not None

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def cpu_seconds(self) -> float:
        """User and system CPU the process has used so far (Linux; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def kill(self) -> None:
        """SIGKILL: no handler runs; the kernel closes its connections and drops its lock."""
        self.cpu = self.cpu_seconds()
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.cpu = self.cpu_seconds()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()


def describe(f: FanoutFigures) -> list[str]:
    """The figures as lines of text."""
    tiers = ", Slack's method tiers" if f.tiers else ""
    lines = [f"stand-up fan-out: {f.people:,} people; local Slack at {f.latency * 1000:g} ms per call, "
             f"1 msg/s per channel (burst 1), {f.workspace_rate:g} msg/s per workspace{tiers}",
             f"people refresh, {f.people:,} people: {f.refresh_seconds:.2f} s ({f.refresh_calls} Web API calls)",
             f"floor: {f.floor:.1f} s"]
    for name, r in (("one clock", f.one_clock), ("clock killed midway", f.killed)):
        lines.append(f"{name}: everyone prompted in {r.elapsed:.1f} s ({r.elapsed / f.floor:.2f}x the floor); "
                     f"first clock led {r.clock_start:.2f} s after it started; lost {r.lost}, doubled {r.doubled}, "
                     f"429 answers {r.ratelimited} {r.ratelimited_by_method or ''}")
        shares = ", ".join(f"{share} {at:.1f} s" for share, at in r.progress.items())
        lines.append(f"  the run's start took {r.start_seconds:.2f} s; people prompted by: {shares}; "
                     f"clock CPU {r.clock_cpu:.1f} s")
        if r.killed_after is not None:
            takeover = "n/a" if r.takeover is None else f"{r.takeover:.2f} s"
            leading = "n/a" if r.new_clock_leading is None else f"{r.new_clock_leading:.2f} s"
            lines.append(f"  killed after {r.killed_after} prompts; the new clock led {leading} after the kill; "
                         f"takeover (kill to its first prompt accepted) {takeover}")
        lines.append(f"  calls: {dict(sorted(r.calls_by_method.items()))}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--workspace-rate", type=float, default=50.0)
    parser.add_argument("--latency", type=float, default=0.15, help="seconds every Slack call takes")
    parser.add_argument("--concurrency", type=int, default=16, help="SLACK_CONCURRENCY for the clock")
    parser.add_argument("--slack-timeout", type=float, default=10.0, help="SLACK_TIMEOUT_SECONDS for the clock")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to use instead of SQLite")
    args = parser.parse_args()
    figures = run(args.people, args.workspace_rate, latency=args.latency, concurrency=args.concurrency,
                  slack_timeout=args.slack_timeout, postgres_url=args.postgres)
    print("\n".join(describe(figures)))


if __name__ == "__main__":
    main()
