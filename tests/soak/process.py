"""`conductor serve` as a real process that the soak kills (SIGKILL) and starts again, on the
same database, with its output kept in one log per life."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.slack.signed import SIGNING_SECRET
from tests.slack.test_serve_process import free_port

LEADING = "this process is the clock"
STANDING_BY = "another clock leads; standing by"
UP_TIMEOUT_SECONDS = 30.0


@dataclass
class Life:
    """One life of the process: when it started, answered and died, and what it logged."""

    number: int
    log: Path
    started: float
    up: float | None = None
    killed: float | None = None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def led(self) -> bool:
        return LEADING in self.text()

    def stood_by(self) -> int:
        return self.text().count(STANDING_BY)


@dataclass
class ServeProcess:
    database_url: str
    workflows_dir: Path
    slack_api_url: str
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    lives: list[Life] = field(default_factory=list)
    _process: subprocess.Popen | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self) -> Life:
        assert self._process is None or self._process.poll() is not None, "already running"
        life = Life(len(self.lives) + 1, self.logs / f"serve-{len(self.lives) + 1:03d}.log", time.monotonic())
        env = {**os.environ, "DATABASE_URL": self.database_url, "WORKFLOWS_DIR": str(self.workflows_dir),
               "SLACK_BOT_TOKEN": "xoxb-soak", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": self.slack_api_url, "PORT": str(self.port), **self.extra_env}
        with open(life.log, "w") as out:
            self._process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env,
                                             stdout=out, stderr=subprocess.STDOUT)
        self.lives.append(life)
        return life

    def wait_up(self) -> bool:
        """Wait until it answers `/healthz` (False if it died or never answered)."""
        life = self.lives[-1]
        deadline = time.monotonic() + UP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and self.alive():
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).read()
                life.up = time.monotonic()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released but by the kernel."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=30)
        self.lives[-1].killed = time.monotonic()

    def stop(self) -> int | None:
        """A clean stop (SIGTERM) at the end; returns the exit status."""
        if self._process is None or self._process.poll() is not None:
            return None if self._process is None else self._process.returncode
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
