"""What a misbehaving Slack cost: the calls the messenger tried, and what was lost, doubled,
out of order or left stale, found by matching the fake Slack's conversations against the
outbox (every message carries its outbox key in its metadata)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.slack.blocks.outbox import render_outbox
from bot.slack.messenger import METADATA_TYPE
from bot.store.models import Run
from tests.resilience.stage import Stage

LOOKUPS = ("conversations.history", "conversations.replies")


@dataclass
class Tally:
    messages: int = 0  # outbox rows that are messages (posts and DMs)
    edits: int = 0  # outbox rows that are header edits
    posts_tried: int = 0  # chat.postMessage calls Slack did not refuse with a 429
    updates_tried: int = 0
    lookups: int = 0  # history reads made to tell whether a post had landed
    ratelimited: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers
    hangs: int = 0  # calls the fake held longer than the client waits (set by the test)
    lost: int = 0
    doubled: int = 0
    out_of_order: list[tuple[str, int, int]] = field(default_factory=list)  # (channel, row before, row after)
    stale_headers: list[str] = field(default_factory=list)  # runs whose header is not their last state

    @property
    def faults(self) -> tuple[int, int, int, int]:
        return self.lost, self.doubled, len(self.out_of_order), len(self.stale_headers)

    def line(self, name: str) -> str:
        return (f"[{name}] {self.messages} messages + {self.edits} header edits; tried {self.posts_tried} posts, "
                f"{self.updates_tried} edits, {self.lookups} lookups; 429s {self.ratelimited}, 5xx {self.server_errors}, "
                f"hangs {self.hangs}; lost {self.lost}, doubled {self.doubled}, "
                f"out of order {len(self.out_of_order)}, stale headers {len(self.stale_headers)}")


def tally(on: Stage, *, hangs: int = 0) -> Tally:
    fake = on.fake
    result = Tally(hangs=hangs)
    rows = on.rows("select id, kind, dedupe_key, run_id from outbox order by id")
    row_of = {key: row_id for row_id, kind, key, _ in rows if kind != "update"}
    result.messages = len(row_of)
    result.edits = sum(1 for _, kind, _, _ in rows if kind == "update")
    calls = fake.calls
    # Posts Slack took or may have taken: a 429 is a refusal, and trying again after it is no double.
    result.posts_tried = sum(c.method == "chat.postMessage" and c.status != 429 for c in calls)
    result.updates_tried = sum(c.method == "chat.update" for c in calls)
    result.lookups = sum(c.method in LOOKUPS for c in calls)
    result.ratelimited = sum(c.status == 429 for c in calls)
    result.server_errors = sum(c.status >= 500 for c in calls)

    channels = {fake.channel_id(c.params["channel"]) for c in calls if c.method == "chat.postMessage" and c.status == 200}
    seen: Counter[str] = Counter()
    for channel in sorted(channels):
        last = 0
        for message in fake.messages(channel):
            meta = message.get("metadata") or {}
            if meta.get("event_type") != METADATA_TYPE:
                continue
            key = meta["event_payload"]["key"]
            seen[key] += 1
            row_id = row_of[key]
            if row_id < last:
                result.out_of_order.append((channel, last, row_id))
            last = max(last, row_id)
    result.lost = sum(1 for key in row_of if key not in seen)
    result.doubled = sum(n - 1 for n in seen.values())
    result.stale_headers = [run_id for run_id in on.run_ids() if not header_is_current(on, run_id)]
    return result


def header_is_current(on: Stage, run_id: str) -> bool:
    """The run's header in Slack shows what rendering its current state gives."""
    from bot.engine.state import RunState

    with on.runtime.sessions() as session:
        run = session.get_one(Run, run_id)
        workflow = on.runtime.versions.by_row(session, run.workflow_version_id).workflow
        state, channel, ts = RunState.from_json(run.state), run.channel, run.thread_ts
    if not ts:
        return False
    shown = [m for m in on.fake.messages(channel) if m["ts"] == ts]
    wanted = render_outbox({"kind": "header", "run_id": run_id}, {"workflow": workflow, "state": state})
    return bool(shown) and shown[0]["blocks"] == wanted["blocks"]
