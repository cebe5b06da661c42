"""How fast Slack's requests are acknowledged: Conductor against a stock Bolt app.

Sends a mixed load of signed slash commands and button clicks at a fixed rate (open loop) to
Conductor's app and to a stock Bolt app with one trivial listener, both behind the same WSGI
server (waitress) in this process, both calling the same fake Slack Web API; prints ack
latency median / p99 / max for each and their ratio.

    python -m tests.benchmarks.slack_ack [--rate 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_bolt import App

from bot.settings import Settings
from bot.slack.blocks import actions as a
from bot.slack.client import make_client
from bot.slack.web import wsgi_app
from bot.store.migrate import upgrade
from tests.fakeslack import FakeSlack
from tests.slack.live import running_app, serve_wsgi
from tests.slack.signed import SIGNING_SECRET, post

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


def load(url: str, rate: float, seconds: float) -> list[float]:
    bodies = requests(int(rate * seconds))
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


def figures(latencies: list[float]) -> tuple[float, float, float]:
    ms = sorted(x * 1000 for x in latencies)
    return statistics.median(ms), statistics.quantiles(ms, n=100)[98], ms[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "bench.yaml").write_text(WORKFLOW)
    url = f"sqlite:///{folder / 'ack.db'}"
    upgrade(url)
    with FakeSlack(rate=1e6, burst=10**6) as fake:
        settings = Settings(database_url=url, workflows_dir=str(folder), slack_bot_token="xoxb-bench",
                            slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url)
        with running_app(settings) as (conductor_url, _), serve_wsgi(wsgi_app(stock_app(make_client(settings)))) as stock_url:
            load(conductor_url, args.rate, 1.0)  # warm up both
            load(stock_url, args.rate, 1.0)
            stock = load(stock_url, args.rate, args.seconds)
            ours = load(conductor_url, args.rate, args.seconds)
    print(f"ack latency at {args.rate:.0f} requests/s for {args.seconds:.0f} s (half commands, half button clicks)")
    print(f"{'':<12} {'answered':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'over 3 s':>9}")
    for name, values in (("conductor", ours), ("stock Bolt", stock)):
        median, p99, worst = figures(values)
        print(f"{name:<12} {len(values):>9} {median:>10.2f} {p99:>8.2f} {worst:>8.2f} {sum(v > 3 for v in values):>9}")
    print(f"ratio conductor / stock: median {figures(ours)[0] / figures(stock)[0]:.2f}x, p99 {figures(ours)[1] / figures(stock)[1]:.2f}x")


if __name__ == "__main__":
    main()
