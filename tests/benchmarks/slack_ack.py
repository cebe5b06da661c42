"""How fast Slack's requests are acknowledged, reads and writes: Conductor against stock Bolt.

A mixed load of signed requests at a fixed rate (open loop): half reads (`/conductor runs`,
`list`, `mine`, `status <run>`), half writes, each decided and committed before the answer:
`/conductor start`, Approve clicks on runs waiting for approval, step form submissions
(`view_submission`) and replies in a run's thread (an Events API `message`) to a step that
takes the reply. The runs the writes act on are started through the use cases before the
load; afterwards every write is looked for in the database, and one not found there counts
as not applied.

The local Slack answers every Web API call after `latency` (150 ms, about what Slack takes):
our private notes and forms go out after the answer, on Bolt's listener pool, and must not
hold it up. It does not rate-limit us.

Baselines, served the same way (waitress, this process, the same local Slack, the same
requests): a stock Bolt app whose listeners only ack, in its default mode (the listener acks
on Bolt's thread pool while the request thread polls for the ack every 10 ms) and with
`process_before_response=True` (the ack is the answer, as ours is once the write is
committed: the like-for-like one).

Targets: median <= 5 ms, p99 <= 50 ms (Slack's own limit is 3 s).

    python -m tests.benchmarks.slack_ack [--rate 100] [--seconds 10] [--latency 0.15]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slack_bolt import App
from sqlalchemy import func, select, text

from bot.engine.queries import ACTIVE_RUN_STATUSES
from bot.engine.state import RunState, StepStatus
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.blocks import actions as a
from bot.slack.client import make_client
from bot.slack.web import wsgi_app
from bot.store.migrate import upgrade
from bot.store.models import Run
from bot.usecases.results import Accepted
from tests.benchmarks.setup import percentile, scratch_folder
from tests.fakeslack import FakeSlack
from tests.slack.live import running_app, serve_wsgi
from tests.slack.signed import SIGNING_SECRET, post

TARGET_MEDIAN_MS = 5.0
TARGET_P99_MS = 50.0
SLACK_LATENCY = 0.15  # seconds the local Slack takes to answer any Web API call

TEAM, CHANNEL = "T0FAKETEAM", "C0BENCH"
USERS = tuple(f"U0BENCH{n:02d}" for n in range(20))
MIX = ("read", "start", "read", "approve", "read", "form", "read", "reply")  # one cycle of the load
READS = ("runs", "list", "mine", "status")
WRITES = ("start", "approve", "form", "reply")
START = "bench-start"
WORKFLOWS = {  # id -> YAML; the writes act on runs of the last three
    START: "steps:\n  - {id: write, ask: starter, outputs: {words: integer}}\n",
    "bench-approve": f"roles: {{team: [{', '.join(USERS)}]}}\nsteps:\n  - {{id: approve, approvers: [team]}}\n",
    "bench-form": "steps:\n  - {id: size, ask: starter, outputs: {words: integer}}\n",
    "bench-reply": "steps:\n  - {id: write, ask: starter, outputs: {text: text}}\n",
}
ACTS_ON = {"approve": ("bench-approve", "approve"), "form": ("bench-form", "size"), "reply": ("bench-reply", "write")}


def stock_app(client, *, process_before_response: bool) -> App:
    """Stock Bolt: one trivial listener for each kind of request in the mix, which only acks."""
    app = App(client=client, signing_secret=SIGNING_SECRET, token_verification_enabled=False,
              process_before_response=process_before_response)

    def only_ack(ack):
        ack()

    app.command("/conductor")(only_ack)
    app.action(a.APPROVE)(only_ack)
    app.view(a.STEP_FORM)(only_ack)
    app.event("message")(only_ack)
    return app


# --- the requests ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A run prepared for one write: who acts on which step, its thread, and what the write
    must leave in the step (its outputs; None for an approval, which leaves the approver)."""

    run_id: str
    user: str
    starter: str
    step: str
    thread_ts: str
    outputs: dict[str, Any] | None


@dataclass(frozen=True)
class Request:
    kind: str  # "read" or one of WRITES
    body: bytes
    content_type: str
    what: str = ""  # the read's verb (READS), or the write's kind


def count(rate: float, seconds: float) -> int:
    """Requests sent at `rate` for `seconds`: two at least, so there is a median and a p99."""
    return max(2, int(rate * seconds))


def kinds(n: int) -> list[str]:
    return [MIX[i % len(MIX)] for i in range(n)]


def prepare(runtime: Runtime, n: int, phase: int) -> dict[str, list[Target]]:
    """The runs the writes among `n` requests act on, started through the use cases, each
    waiting on its step; reply runs get a thread, as the messenger records it once a run's
    header is posted. `phase` keeps the keys and threads of one load apart from another's."""
    wanted = Counter(kinds(n))
    targets: dict[str, list[Target]] = {}
    for kind, (workflow_id, step) in ACTS_ON.items():
        for j in range(wanted[kind]):
            starter = USERS[j % len(USERS)]
            started = runtime.usecases.start(workflow_id, starter, {}, key=f"bench:{phase}:{kind}:{j}", channel=CHANNEL)
            assert isinstance(started, Accepted) and started.run_id, started
            outputs = None if kind == "approve" else {"words": 100 + j} if kind == "form" else {"text": f"Draft {phase}.{j}"}
            targets.setdefault(kind, []).append(Target(
                started.run_id, USERS[(j + 1) % len(USERS)] if kind == "approve" else starter, starter, step,
                f"{1_700_000_000 + phase * 100_000 + j}.000100", outputs))
    with runtime.engine.begin() as conn:
        conn.execute(text("update runs set channel = :c, thread_ts = :t where id = :r"),
                     [{"c": CHANNEL, "t": t.thread_ts, "r": t.run_id} for t in targets.get("reply", [])])
    return targets


def _form(fields: dict[str, Any]) -> tuple[bytes, str]:
    return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"


def command(command_text: str, user: str, trigger: str) -> tuple[bytes, str]:
    return _form({"command": "/conductor", "text": command_text, "user_id": user, "user_name": user.lower(),
                  "channel_id": CHANNEL, "team_id": TEAM, "trigger_id": trigger,
                  "response_url": "http://127.0.0.1:9/unused"})


def interactive(payload: dict[str, Any]) -> tuple[bytes, str]:
    return _form({"payload": json.dumps({"team": {"id": TEAM}, "api_app_id": "A0BENCH", **payload})})


def request(kind: str, i: int, j: int, phase: int, targets: dict[str, list[Target]]) -> Request:
    """The i-th request of a load, the j-th of its kind."""
    user, tag = USERS[i % len(USERS)], f"{phase}.{i}"
    if kind == "read":
        verb = READS[j % len(READS)]
        if verb == "status":  # a run the one asking started, so they may see it
            every = [t for ts in targets.values() for t in ts]
            seen = every[j % len(every)] if every else None
            return Request(kind, *command(f"status {seen.run_id}" if seen else "status", seen.starter if seen else user,
                                          f"trig-{tag}"), verb)
        return Request(kind, *command(verb, user, f"trig-{tag}"), verb)
    if kind == "start":
        return Request(kind, *command(f"start {START}", user, f"trig-{tag}"))
    t = targets[kind][j]
    if kind == "approve":
        return Request(kind, *interactive({
            "type": "block_actions", "user": {"id": t.user}, "trigger_id": f"trig-{tag}", "channel": {"id": CHANNEL},
            "container": {"type": "message"},
            "actions": [{"action_id": a.APPROVE, "block_id": "b", "type": "button",
                         "action_ts": f"{1_700_000_000 + i}.{phase:06d}", "value": a.action_value(t.run_id, t.step)}]}))
    if kind == "form":
        assert t.outputs is not None
        return Request(kind, *interactive({
            "type": "view_submission", "user": {"id": t.user}, "trigger_id": f"trig-{tag}",
            "view": {"id": f"VBENCH{phase}X{j}", "hash": f"h-{tag}", "callback_id": a.STEP_FORM, "type": "modal",
                     "private_metadata": a.metadata(run_id=t.run_id, step_id=t.step),
                     "state": {"values": {"words": {"value": {"type": "number_input",
                                                              "value": str(t.outputs["words"])}}}}}}))
    assert t.outputs is not None
    return Request(kind, json.dumps({
        "type": "event_callback", "event_id": f"EvBench{phase}x{i}", "team_id": TEAM, "api_app_id": "A0BENCH",
        "event": {"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": t.user,
                  "text": t.outputs["text"], "ts": f"{1_700_000_000 + i}.{phase:06d}", "thread_ts": t.thread_ts}}).encode(),
        "application/json")


def mix(n: int, targets: dict[str, list[Target]], phase: int) -> list[Request]:
    seen: Counter[str] = Counter()
    requests = []
    for i, kind in enumerate(kinds(n)):
        made = request(kind, i, seen[kind], phase, targets)
        requests.append(made if made.what else replace(made, what=kind))
        seen[kind] += 1
    return requests


# --- the load and its figures ------------------------------------------------------------------
def load(url: str, requests: list[Request], rate: float) -> list[tuple[int, float]]:
    """Each request sent at its time, whatever the answers before it: (HTTP status, seconds
    from the time it was due to be sent, so a request kept waiting by slow ones counts in full)."""
    answers: list[tuple[int, float]] = [(0, 0.0)] * len(requests)

    def one(n: int, r: Request, due: float) -> None:
        status, _, _ = post(url, r.body, r.content_type)
        answers[n] = (status, time.perf_counter() - due)

    gc.collect()  # each load starts with no garbage left by the one before
    with ThreadPoolExecutor(max_workers=256) as pool:
        start = time.perf_counter()
        for n, r in enumerate(requests):
            due = start + n / rate
            if due > time.perf_counter():
                time.sleep(due - time.perf_counter())
            pool.submit(one, n, r, due)
    return answers


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
class Split:
    """The acks of one load: its reads, its writes, and all of them."""

    reads: Acks
    writes: Acks
    every: Acks

    @classmethod
    def of(cls, requests: list[Request], answers: list[tuple[int, float]]) -> Split:
        def acks(keep) -> Acks:
            chosen = [answer for r, answer in zip(requests, answers, strict=True) if keep(r.kind)]
            return Acks.of(len(chosen), [took for status, took in chosen if status == 200])

        return cls(acks(lambda k: k == "read"), acks(lambda k: k != "read"), acks(lambda k: True))


@dataclass(frozen=True)
class AckFigures:
    rate: float
    seconds: float
    latency: float  # seconds each Web API call of the local Slack took
    conductor: Split
    stock: Split  # stock Bolt, trivial listeners, process_before_response=True: the like-for-like
    stock_default: Split  # the same in Bolt's default mode (the ack polled every 10 ms)
    writes: dict[str, int]  # writes sent in the measured load, by kind
    not_applied: dict[str, int]  # of those, answered but not found in the database
    notes_behind: float  # seconds after the load until its last private note was asked of Slack
    active: int  # runs active when the measured load began
    medians: dict[str, float]  # Conductor's median ack in ms of each kind of request (READS and WRITES)

    @property
    def writes_sent(self) -> int:
        return sum(self.writes.values())

    @property
    def writes_not_applied(self) -> int:
        return sum(self.not_applied.values())


def started_runs(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Run).where(Run.workflow_id == START)).scalar_one()


def active_runs(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(select(func.count()).select_from(Run).where(Run.status.in_(ACTIVE_RUN_STATUSES))).scalar_one()


def not_applied(runtime: Runtime, targets: dict[str, list[Target]], starts_sent: int, started: int) -> dict[str, int]:
    """Writes of the load not in the database: runs not started; approvals, form answers and
    replies not recorded in the step they were for."""
    missing = {"start": max(0, starts_sent - started)}
    with runtime.sessions() as session:
        for kind, ts in targets.items():
            missing[kind] = 0
            for t in ts:
                raw = session.get_one(Run, t.run_id).state
                st = RunState.from_json(raw if isinstance(raw, dict) else json.loads(raw)).steps[t.step]
                done = st.status == StepStatus.COMPLETED and (
                    t.user in st.approvals if t.outputs is None else st.outputs == t.outputs)
                missing[kind] += not done
    return {kind: missing.get(kind, 0) for kind in WRITES}


def notes_behind(fake: FakeSlack, expected: int, ended: float, latency: float, timeout: float = 60.0) -> float:
    """Wait for the private notes of the loads (one per read and start) to be asked of Slack;
    how long after `ended` (wall clock) the last one was answered."""
    deadline = time.monotonic() + timeout
    while len(notes := fake.calls_to("chat.postEphemeral")) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(latency)  # the last one's answer
    return max(0.0, max((c.at for c in notes), default=ended) + latency - ended)


def measure(rate: float = 100.0, seconds: float = 10.0, *, latency: float = SLACK_LATENCY,
            workdir: Path | None = None) -> AckFigures:
    """The three apps served side by side, warmed up with a load of their own, then loaded in
    turn with the same requests at `rate` for `seconds`; Conductor last, then its writes checked."""
    folder = scratch_folder(workdir)
    for workflow_id, yaml in WORKFLOWS.items():
        (folder / f"{workflow_id}.yaml").write_text(f"id: {workflow_id}\n{yaml}")
    url = f"sqlite:///{folder / 'ack.db'}"
    upgrade(url)
    sent, warm_sent = count(rate, seconds), count(rate, min(1.0, seconds))
    # waitress warns each time a request waits for a free thread; the latencies already show it.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with FakeSlack(rate=1e6, burst=10**6, latency=latency) as fake:
        settings = Settings(database_url=url, workflows_dir=str(folder), slack_bot_token="xoxb-bench",
                            slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url)
        client = make_client(settings)
        with (running_app(settings) as (conductor_url, runtime),
              serve_wsgi(wsgi_app(stock_app(client, process_before_response=True))) as stock_url,
              serve_wsgi(wsgi_app(stock_app(client, process_before_response=False))) as default_url):
            warm_targets, targets = prepare(runtime, warm_sent, 1), prepare(runtime, sent, 2)
            warm, timed = mix(warm_sent, warm_targets, 1), mix(sent, targets, 2)
            for app_url in (conductor_url, stock_url, default_url):
                load(app_url, warm, rate)
            stock = Split.of(timed, load(stock_url, timed, rate))
            stock_default = Split.of(timed, load(default_url, timed, rate))
            before, active = started_runs(runtime), active_runs(runtime)
            answers = load(conductor_url, timed, rate)
            ours = Split.of(timed, answers)
            ended = time.time()
            writes = Counter(r.kind for r in timed if r.kind != "read")
            missing = not_applied(runtime, targets, writes["start"], started_runs(runtime) - before)
            noted = sum(r.kind in ("read", "start") for r in (*warm, *timed))
            behind = notes_behind(fake, noted, ended, latency)
    medians = {what: statistics.median([took * 1000 for r, (_, took) in zip(timed, answers, strict=True)
                                        if r.what == what] or [float("nan")]) for what in (*READS, *WRITES)}
    return AckFigures(rate, seconds, latency, ours, stock, stock_default, {k: writes[k] for k in WRITES}, missing,
                      behind, active, medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=SLACK_LATENCY, help="seconds each Web API call takes")
    args = parser.parse_args()
    f = measure(args.rate, args.seconds, latency=args.latency)
    print(f"ack latency at {f.rate:g} requests/s for {f.seconds:g} s: half reads ({', '.join(READS)}), "
          f"half writes ({', '.join(WRITES)}); Web API calls take {f.latency * 1000:g} ms")
    print(f"{'':<30} {'sent':>5} {'answered':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'over 3 s':>9}")
    for name, split in (("conductor", f.conductor), ("stock Bolt, process_before_response", f.stock),
                        ("stock Bolt, default mode", f.stock_default)):
        for part, acks in (("reads", split.reads), ("writes", split.writes), ("all", split.every)):
            label = f"{name[:22]} {part}"
            print(f"{label:<30} {acks.sent:>5} {acks.answered:>9} {acks.median_ms:>10.2f} {acks.p99_ms:>8.2f} "
                  f"{acks.max_ms:>8.2f} {acks.over_3s:>9}")
    ours, stock, default = f.conductor, f.stock, f.stock_default
    print(f"conductor / stock Bolt (process_before_response): reads median {ours.reads.median_ms / stock.reads.median_ms:.2f}x, "
          f"writes median {ours.writes.median_ms / stock.writes.median_ms:.2f}x, "
          f"writes p99 {ours.writes.p99_ms / stock.writes.p99_ms:.2f}x")
    print(f"conductor / stock Bolt (default mode): median {ours.every.median_ms / default.every.median_ms:.2f}x, "
          f"p99 {ours.every.p99_ms / default.every.p99_ms:.2f}x")
    print(f"writes not applied: {f.writes_not_applied} of {f.writes_sent} "
          f"({', '.join(f'{k} {f.not_applied[k]}/{f.writes[k]}' for k in WRITES)})")
    print(f"{f.active} runs active when the load began; conductor median ms by request: "
          + ", ".join(f"{what} {ms:.1f}" for what, ms in f.medians.items()))
    print(f"last private note of the load sent {f.notes_behind:.1f} s after the load ended")


if __name__ == "__main__":
    main()
