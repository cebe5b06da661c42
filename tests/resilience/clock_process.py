"""A leading `conductor clock` killed under its messenger, and the clock standing by that takes
over: two real processes on one database, against the local Slack running in the test.

The local Slack here can hold one chosen call (`HoldingSlack.hold`): it either holds the call
and applies it when the hold ends (as Slack applies a call it answered too late, after the
client gave up), or applies it at once and holds only the answer (the post is in Slack, but
the leader never hears so). The test ends a hold early by setting its `release` when it has
seen what it waits for, so events are ordered by what the test observes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.messenger import METADATA_TYPE
from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.soak.process import LEADING, STANDING_BY

UP_SECONDS = 30.0  # a process starting, a standby taking over: generous, never waited out
STARTER = "U01ANN"


@dataclass
class Hold:
    """One call of `method` whose params `match`: held at most `seconds` (or until `release`)."""

    method: str
    match: Callable[[dict[str, Any]], bool]
    seconds: float
    apply_first: bool  # apply at once and hold only the answer
    arrived: threading.Event = field(default_factory=threading.Event)
    landed: threading.Event = field(default_factory=threading.Event)  # applied in Slack
    release: threading.Event = field(default_factory=threading.Event)
    params: dict[str, Any] = field(default_factory=dict)
    arrived_at: float = 0.0  # time.monotonic()
    taken: bool = False


class HoldingSlack(FakeSlack):
    """The local Slack, holding the first call that matches each `hold`."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._holds: list[Hold] = []

    def hold(self, method: str, seconds: float, *, match: Callable[[dict[str, Any]], bool] = lambda p: True,
             apply_first: bool = False) -> Hold:
        hold = Hold(method, match, seconds, apply_first)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _handle(self, method: str, params: dict[str, Any], headers: dict[str, str]):
        with self._lock:
            hold = next((h for h in self._holds if not h.taken and h.method == method and h.match(params)), None)
            if hold is not None:
                hold.taken, hold.params, hold.arrived_at = True, params, time.monotonic()
        if hold is None:
            return super()._handle(method, params, headers)
        hold.arrived.set()
        if hold.apply_first:
            answer = super()._handle(method, params, headers)
            hold.landed.set()
            self._wait_out(hold)
            return answer
        self._wait_out(hold)
        answer = super()._handle(method, params, headers)
        hold.landed.set()
        return answer

    def _wait_out(self, hold: Hold) -> None:
        deadline = hold.arrived_at + hold.seconds
        while not hold.release.wait(0.01) and not self._closing.is_set() and time.monotonic() < deadline:
            pass


@dataclass
class ClockProcess:
    """One `conductor clock` process, its output in one log."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> ClockProcess:
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "clock", "--workers", "2"],
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def leads(self) -> bool:
        return LEADING in self.text()

    def stands_by(self) -> bool:
        return STANDING_BY in self.text()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs; the lock goes with the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Scene:
    """The leader and the standby, the local Slack, and the database as the test reads it."""

    slack: HoldingSlack
    runtime: Runtime
    leader: ClockProcess
    standby: ClockProcess

    def start_run(self, workflow_id: str) -> str:
        result = self.runtime.service.start(workflow_id, STARTER, {})
        assert result.status == "accepted", result
        return str(result.run_id)

    def kill_leader_and_take_over(self) -> None:
        """Kill the leader; return once the standby leads."""
        self.leader.kill()
        wait_for(lambda: self.standby.leads() or not self.standby.alive(), UP_SECONDS, self.logs)
        assert self.standby.alive(), self.logs()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.runtime.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def run_channel(self, run_id: str) -> str:
        return self.rows("select channel from runs where id = :r", r=run_id)[0][0]

    def settled(self, run_id: str) -> bool:
        """The run is over and every outbox row was sent (or refused for good)."""
        done = self.rows("select status from runs where id = :r", r=run_id)[0][0] == "completed"
        return done and not self.rows("select id from outbox where status in ('pending', 'sending')")

    def outbox(self) -> list[tuple[Any, ...]]:
        return self.rows("select id, kind, channel, status, attempts, error, dedupe_key from outbox order by id")

    def post_keys(self) -> list[str]:
        return [key for (key,) in self.rows("select dedupe_key from outbox where kind != 'update' order by id")]

    def logs(self) -> str:
        return (f"\noutbox: {self.outbox()}\n--- leader ---\n{self.leader.text()[-3000:]}"
                f"\n--- standby ---\n{self.standby.text()[-3000:]}")


def key_of(message: dict[str, Any]) -> str | None:
    meta = message.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("key") if meta.get("event_type") == METADATA_TYPE else None


def keys_shown(slack: FakeSlack, channel: str) -> Counter:
    """How often each outbox key shows in the channel (top level and threads)."""
    return Counter(key for m in slack.messages(channel) if (key := key_of(m)) is not None)


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m["text"] for m in slack.messages(channel)]


def looked_up(slack: FakeSlack) -> bool:
    """Whether the messenger asked Slack's history for a post (and had its answer)."""
    return any(c.status for c in slack.calls if c.method in ("conversations.history", "conversations.replies"))


@contextmanager
def leader_and_standby(db_url: str, tmp_path: Path, workflows: dict[str, str], slack: HoldingSlack, *,
                       client_timeout: float) -> Iterator[Scene]:
    """Two `conductor clock` processes on `db_url` serving `workflows` (file name -> YAML):
    yields once one leads and the other stands by, with the local Slack as their Web API
    and SLACK_TIMEOUT_SECONDS=`client_timeout`."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name, source in workflows.items():
        (folder / f"{name}.yaml").write_text(source)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "DATABASE_URL": db_url, "WORKFLOWS_DIR": str(folder), "SLACK_BOT_TOKEN": "xoxb-leader",
           "SLACK_API_URL": slack.url, "SLACK_TIMEOUT_SECONDS": str(client_timeout)}
    for name in ("METRICS_PORT", "LOG_LEVEL", "LOG_FORMAT", "ESCALATION_CHANNEL"):
        env.pop(name, None)
    runtime = build_runtime(Settings(database_url=db_url, workflows_dir=str(folder)))
    clocks = [ClockProcess(env, logs / f"clock-{n}.log").start() for n in (1, 2)]
    try:
        def two_roles() -> list[ClockProcess] | None:
            assert all(c.alive() for c in clocks), "\n".join(c.text() for c in clocks)
            leading = [c for c in clocks if c.leads()]
            return leading and [c for c in clocks if c.stands_by() and c not in leading] and leading

        leader = wait_for(two_roles, UP_SECONDS, lambda: "\n".join(c.text() for c in clocks))[0]
        standby = next(c for c in clocks if c is not leader)
        yield Scene(slack, runtime, leader, standby)
    finally:
        for clock in clocks:
            clock.stop()
        runtime.close()
