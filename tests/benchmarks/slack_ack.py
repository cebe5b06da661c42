"""How fast Slack's requests are acknowledged: Conductor against a stock Bolt app.

Sends a mixed load of signed slash commands and button clicks at a fixed rate (open loop) to
Conductor's app and to a stock Bolt app with one trivial listener, both behind the same WSGI
server (waitress) in this process, both calling the same fake Slack Web API; prints ack
latency median / p99 / max for each and their ratio.

Targets: median <= 5 ms, p99 <= 50 ms (Slack's own limit is 3 s).

    python -m tests.benchmarks.slack_ack [--rate 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from slack_bolt import App

from bot.settings import Settings
from bot.slack.blocks import actions as a
from bot.slack.client import make_client
from bot.slack.web import wsgi_app
from bot.store.migrate import upgrade
from tests.benchmarks.setup import percentile, scratch_folder
from tests.fakeslack import FakeSlack
from tests.slack.live import running_app, serve_wsgi
from tests.slack.signed import SIGNING_SECRET, post

TARGET_MEDIAN_MS = 5.0
TARGET_P99_MS = 50.0

WORKFLOW = "id: bench\nsteps:\n  - id: write\n    ask: starter\n    outputs: {words: integer}\n"


def stock_app(client) -> App:
    app = App(client=client, signing_secret=SIGNING_SECRET, token_verification_enabled=False)

    @app.command("/conductor")
    def command(ack):
        ack()

    @app.action(a.SUBMIT)
    def click(ack):
        ack()

    return app


def requests(n: int) -> list[tuple[bytes, str]]:
    """Half slash commands (`runs`, `list`, `status`), half Submit clicks on a run."""
    mixed = []
    for i in range(n):
        if i % 2 == 0:
            text = ("runs", "list", "mine")[i // 2 % 3]
            form = {"command": "/conductor", "text": text, "user_id": "U01ANN", "channel_id": "C0B",
                    "team_id": "T0", "trigger_id": f"t{i}", "response_url": "http://127.0.0.1:9/"}
        else:
            form = {"payload": json.dumps({
                "type": "block_actions", "user": {"id": "U01ANN"}, "trigger_id": f"t{i}", "channel": {"id": "C0B"},
                "team": {"id": "T0"}, "api_app_id": "A0", "container": {"type": "message"},
                "actions": [{"action_id": a.SUBMIT, "action_ts": f"{i}.0", "block_id": "b", "type": "button",
                             "value": a.action_value("nosuchrun", "write")}]})}
        mixed.append((urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"))
    return mixed


def count(rate: float, seconds: float) -> int:
    """Requests sent at `rate` for `seconds`: two at least, so there is a median and a p99."""
    return max(2, int(rate * seconds))


def load(url: str, rate: float, seconds: float) -> list[float]:
    bodies = requests(count(rate, seconds))
    latencies: list[float] = []
    lock = threading.Lock()

    def one(body: bytes, kind: str) -> None:
        status, _, took = post(url, body, kind)
        if status == 200:
            with lock:
                latencies.append(took)

    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.perf_counter()
        for n, (body, kind) in enumerate(bodies):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, body, kind)
    return latencies


@dataclass(frozen=True)
class Acks:
    """One app's acknowledgements of `sent` requests, in milliseconds."""

    sent: int
    answered: int
    median_ms: float
    p99_ms: float
    max_ms: float
    over_3s: int

    @property
    def missed(self) -> int:
        """Requests Slack would count as failed: not answered 200, or answered after 3 s."""
        return self.sent - self.answered + self.over_3s

    @classmethod
    def of(cls, sent: int, latencies: list[float]) -> Acks:
        ms = sorted(x * 1000 for x in latencies) or [float("nan")]
        return cls(sent, len(latencies), statistics.median(ms), percentile(ms, 99), ms[-1],
                   sum(x > 3 for x in latencies))


@dataclass(frozen=True)
class AckFigures:
    rate: float
    seconds: float
    conductor: Acks
    stock: Acks  # a stock Bolt app with trivial listeners, same server, same process


def measure(rate: float = 100.0, seconds: float = 10.0, *, workdir: Path | None = None) -> AckFigures:
    """Both apps served side by side, warmed up, then loaded in turn at `rate` for `seconds`."""
    folder = scratch_folder(workdir)
    (folder / "bench.yaml").write_text(WORKFLOW)
    url = f"sqlite:///{folder / 'ack.db'}"
    upgrade(url)
    sent = count(rate, seconds)
    warm_up = min(1.0, seconds)
    with FakeSlack(rate=1e6, burst=10**6) as fake:
        settings = Settings(database_url=url, workflows_dir=str(folder), slack_bot_token="xoxb-bench",
                            slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url)
        with running_app(settings) as (conductor_url, _), serve_wsgi(wsgi_app(stock_app(make_client(settings)))) as stock_url:
            load(conductor_url, rate, warm_up)
            load(stock_url, rate, warm_up)
            stock = load(stock_url, rate, seconds)
            ours = load(conductor_url, rate, seconds)
    return AckFigures(rate, seconds, Acks.of(sent, ours), Acks.of(sent, stock))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    f = measure(args.rate, args.seconds)
    print(f"ack latency at {f.rate:.0f} requests/s for {f.seconds:.0f} s (half commands, half button clicks)")
    print(f"{'':<12} {'answered':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'over 3 s':>9}")
    for name, acks in (("conductor", f.conductor), ("stock Bolt", f.stock)):
        print(f"{name:<12} {acks.answered:>9} {acks.median_ms:>10.2f} {acks.p99_ms:>8.2f} {acks.max_ms:>8.2f} {acks.over_3s:>9}")
    print(f"ratio conductor / stock: median {f.conductor.median_ms / f.stock.median_ms:.2f}x, "
          f"p99 {f.conductor.p99_ms / f.stock.p99_ms:.2f}x")


if __name__ == "__main__":
    main()
