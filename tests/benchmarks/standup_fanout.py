"""A stand-up for 1,000 people against a rate-limited Slack: time to prompt everyone against
the floor the limits allow, and prompts lost or doubled, with a crash in the middle.

The fake Slack allows one message per second per channel (each DM is its own channel) and
a workspace-wide 50 messages per second (our choice: Slack does not publish one; this is a
conservative stand-in). The messenger paces itself to the same workspace rate. Halfway, the
messenger "crashes" after Slack accepted a message but before recording it; a new one
recovers (finding that message by its metadata) and carries on.

Target: everyone prompted within 1.1x the floor; none lost, none doubled.

    python -m tests.benchmarks.standup_fanout [--people 1000] [--workspace-rate 50]
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TypedDict

from bot.engine.permissions import StaticDirectory
from bot.settings import Settings
from bot.slack.blocks.outbox import render_outbox
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.benchmarks.setup import service_for
from tests.fakeslack import FakeSlack

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


TARGET_RATIO_TO_FLOOR = 1.1


class Crash(Exception):
    pass


class FanoutFigures(TypedDict):
    elapsed: float  # seconds from the run's start until everyone was prompted
    floor: float  # the least time the rate limits allow
    lost: int
    doubled: int
    ratelimited: int  # 429 answers from Slack


def run(people: int, workspace_rate: float, crash_after: int, *, workdir: Path | None = None) -> FanoutFigures:
    users = [f"U{n:06d}X" for n in range(people)]
    service, versions, _ = service_for(WORKFLOW, directory=StaticDirectory({"S0EVERYONE": users}), workdir=workdir)
    floor = (people + 1) / workspace_rate  # every prompt plus the run's header, at the workspace rate
    engine = service.engine
    with FakeSlack(rate=1.0, burst=1, workspace_rate=workspace_rate) as fake:
        client = make_client(Settings(slack_bot_token="xoxb-bench", slack_api_url=fake.url))
        started = time.perf_counter()
        service.start("big-standup", None, {}, key="fanout")
        messenger = Messenger(engine, client, versions, render=render_outbox, workspace_rate=workspace_rate)
        # The crash: Slack takes message `crash_after`, and its record is never written.
        original = messenger._mark_sent
        sent = [0]

        def mark_then_maybe_crash(conn, row, ts, channel):
            sent[0] += 1
            if sent[0] == crash_after:
                raise Crash("the process died after Slack took the message")
            original(conn, row, ts, channel)

        messenger._mark_sent = mark_then_maybe_crash  # type: ignore[method-assign]
        stop = threading.Event()
        with contextlib.suppress(Crash):
            _until_crash(messenger)
        # A new messenger, as after a restart: it recovers, then carries on.
        survivor = Messenger(engine, client, versions, render=render_outbox, workspace_rate=workspace_rate)
        worker = threading.Thread(target=survivor.run, args=(stop,))
        worker.start()
        _wait_prompted(fake, people, timeout=60 + 10 * floor)
        stop.set()
        worker.join()
        elapsed = time.perf_counter() - started
        prompts = [c.params["channel"] for c in fake.calls_to("chat.postMessage")
                   if c.status == 200 and c.params["channel"].startswith("D")]
        counts = Counter(prompts)
        ratelimited = fake.ratelimited_count
    engine.dispose()
    return {"elapsed": elapsed, "floor": floor, "lost": people - len(counts),
            "doubled": sum(n - 1 for n in counts.values() if n > 1), "ratelimited": ratelimited}


def _until_crash(messenger: Messenger) -> None:
    messenger.recover()
    while True:  # deliver_due raises Crash at the chosen message
        if not messenger.deliver_due():
            time.sleep(0.005 if messenger.throttled else 0.05)


def _wait_prompted(fake: FakeSlack, people: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = {c.params["channel"] for c in fake.calls_to("chat.postMessage") if c.status == 200 and c.params["channel"].startswith("D")}
        if len(done) >= people:
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--workspace-rate", type=float, default=50.0)
    args = parser.parse_args()
    result = run(args.people, args.workspace_rate, crash_after=args.people // 2)
    print(f"stand-up fan-out: {args.people} people; fake Slack at 1 msg/s per channel and "
          f"{args.workspace_rate:.0f} msg/s per workspace; a messenger crash after {args.people // 2} prompts")
    print(f"time to prompt everyone: {result['elapsed']:.1f} s; floor {result['floor']:.1f} s; "
          f"ratio {result['elapsed'] / result['floor']:.2f}x")
    print(f"lost {result['lost']}, doubled {result['doubled']}, 429 answers {result['ratelimited']}")


if __name__ == "__main__":
    main()
