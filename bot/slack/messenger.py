"""Delivering the outbox to Slack: many channels at once, each in order, within Slack's
rate limits, once.

The engine writes every message as an outbox row in the transaction that caused it; this
sends them. Rules:

- Lanes (`bot.slack.outbox_lanes`): per channel, per DM and per run's header edits, rows go
  out in the order they were written; a later row waits for an earlier one (so a thread never
  shows a reply before its question). Lanes move at once: up to `concurrency` Web API calls are
  in flight, one per lane, so throughput is not one over Slack's latency, and a lane that is
  stalled (a 429 pause, a backoff, a call Slack has not answered) holds back no other.
- About one message per second per channel, with a short burst (a token bucket), as Slack
  asks of `chat.postMessage`, and a budget across the workspace; a 429 pauses that lane (or
  every header edit, for `chat.update`) for its `Retry-After`.
- 5xx answers, timeouts and network errors are retried with exponential backoff (capped at
  five minutes); errors another try cannot fix (`channel_not_found`, `invalid_blocks`, ...) mark
  the row failed with Slack's error, for people to see.
- A workflow's `#name` is turned into the channel's id (`bot.slack.channel_names`) before
  anything is posted or looked up: history is read by id only.
- Exactly once: a row is marked `sending` with the time (`claimed_at`, committed) before the
  call and `sent` with its `ts` after. Each post carries the row's key in Slack message
  metadata. A post whose fate is unknown (left `sending` by a dead process, a 5xx, a timeout:
  Slack may have taken it) is unconfirmed and looked for in the channel's history, every page
  since it was written (`bot.slack.sent_lookup`), before it is sent again: found, it is marked
  sent; not found, it is sent only once three client timeouts have passed since the call
  began, as Slack may still apply a call it did not answer. (Slack takes no idempotency key: a
  call Slack holds even longer and then applies would still show twice.)
- Header edits render the run as it is when sent, and one edit stands for every update of the
  run written before it. An edit whose fate is unknown is made again only once a held edit can
  no longer land after it, so the last edit to land shows the run's current state.
- A row this release cannot read (a message kind it does not know) is marked failed and
  logged, never sent as something vague.
- The run's first message (`run_started`) is its header; its `ts` becomes the run's thread,
  and Slack's channel id replaces the `#name`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select, update

from bot.engine.messages import UnknownMessageKind
from bot.engine.versions import WorkflowVersions
from bot.slack import outbox_lanes
from bot.slack.channel_names import ChannelNames, is_name
from bot.slack.outbox_calls import SlackCalls
from bot.slack.outbox_outcomes import EDITS, INTERRUPTED, Outcomes, error_of, transient
from bot.slack.senders import Senders
from bot.slack.sent_lookup import METADATA_TYPE, TooMuchHistory
from bot.store.models import OutboxMessage, Run

log = logging.getLogger("conductor.messenger")
OUTBOX = OutboxMessage.__table__
RUNS = Run.__table__
__all__ = ["METADATA_TYPE", "OUTBOX", "Messenger", "TokenBucket"]
# A call the client gave up on may still be applied by Slack for this many client timeouts.
UNANSWERED_WAIT_TIMEOUTS = 3
DEFAULT_CONCURRENCY = 16


@dataclass
class TokenBucket:
    """`rate` messages per second with `burst` extra; `ready` says whether the next may go."""

    rate: float = 1.0
    burst: int = 1
    tokens: float = field(default=2.0)
    stamp: float = field(default_factory=time.monotonic)

    def ready(self, now: float) -> bool:
        self.tokens = min(1 + self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= 1

    def take(self) -> None:
        self.tokens -= 1

    def wait(self) -> float:
        """Seconds until the next token (0 when one is there)."""
        return max(0.0, (1 - self.tokens) / self.rate) if self.rate > 0 else 1.0


class Messenger(Outcomes, SlackCalls):
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        versions: WorkflowVersions,
        *,
        render: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate: float = 1.0,
        burst: int = 1,
        workspace_rate: float | None = None,
        backoff_seconds: float = 1.0,
        concurrency: int = DEFAULT_CONCURRENCY,
    ):
        """`render(payload, context)` turns an outbox payload into `{"text", "blocks"}`;
        context carries the run's workflow and state when the payload belongs to a run."""
        self.engine = engine
        self.client = client
        self.versions = versions
        self.render = render
        self.clock = clock
        self.rate, self.burst = rate, burst
        self.backoff_seconds = backoff_seconds  # the first retry's wait; it doubles with each try
        self.concurrency = max(1, concurrency)
        self.buckets: dict[str, TokenBucket] = {}
        # Across all channels (DMs are channels too): a stand-up's fan-out must not flood Slack.
        self.workspace = TokenBucket(workspace_rate, 1, 2.0) if workspace_rate else None
        self.paused_until: dict[str, datetime] = {}
        self.names = ChannelNames(client)  # a channel's `#name` -> Slack's channel id
        self.dm_channels: dict[str, str] = {}  # a user -> the id of the bot's DM with them
        self._covered: dict[int, int] = {}  # update row id -> newest update of its run it stands for
        self.throttled = False
        self._throttle_wait = 0.005
        self._pool: Senders | None = None
        self._flying: dict[str, int] = {}  # lane -> id of the row whose call is in flight
        self._flying_lock = threading.Lock()
        self._settled = threading.Event()  # a call ended: a lane or a slot is free
        self._deaths: list[BaseException] = []  # the process dying in a sender thread
        self._failed_pass = False

    @property
    def late_apply_seconds(self) -> float:
        """How long Slack may still apply a call the client gave up on."""
        return UNANSWERED_WAIT_TIMEOUTS * float(getattr(self.client, "timeout", 0) or 0)

    # --- the loop ------------------------------------------------------------------------------
    def recover(self) -> int:
        """Rows left `sending` by a dead process (or a failed send) go back in line. A post is
        unconfirmed: looked for at once, sent again only after Slack's late-apply window (see
        `send`). An edit waits out that window, then is made again from the run as it is."""
        now = self.clock()
        window = timedelta(seconds=self.late_apply_seconds)
        with self._flying_lock:
            busy = set(self._flying.values())
        with self.engine.begin() as conn:
            left = conn.execute(select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.claimed_at)
                                .where(OUTBOX.c.status == "sending")).all()
            for row_id, kind, claimed_at in left:
                if row_id in busy:
                    continue  # its call is still in flight in this process
                if kind == "update":
                    values: dict[str, Any] = {"next_attempt_at": (claimed_at or now) + window}
                else:
                    values = {"error": INTERRUPTED, "next_attempt_at": now}
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "sending")
                             .values(status="pending", **values))
            # Which `#name` is which channel id, from active runs whose header is posted.
            self._learn_lanes(conn.execute(
                select(OUTBOX.c.channel, RUNS.c.channel).distinct().join(RUNS, RUNS.c.id == OUTBOX.c.run_id)
                .where(RUNS.c.status.in_(("running", "waiting")), RUNS.c.thread_ts.is_not(None),
                       OUTBOX.c.thread_key.is_not(None), OUTBOX.c.channel != RUNS.c.channel)))
        return len([row for row in left if row[0] not in busy])

    def deliver_due(self) -> int:
        """One pass: send what may go now (many lanes at once) and wait for those calls.
        Returns how many messages were sent."""
        return sum(bool(future.result()) for future in self._dispatch())

    def run(self, stop: Any, idle_seconds: float = 0.2) -> None:
        """Deliver until `stop` (a threading.Event) is set; then wait for the calls in flight."""
        interrupted = True  # at start, and after a failed pass: a row may have been left `sending`
        try:
            while not stop.is_set():
                try:
                    if interrupted or self._failed_pass:
                        self._failed_pass = False
                        self.recover()
                        interrupted = False
                    self._settled.clear()
                    submitted = self._dispatch()
                    if self._deaths:
                        raise self._deaths[0]
                    if not submitted or self._busy():
                        # Wait for a call to end, or for a token, or for new rows.
                        self._settled.wait(self._throttle_wait if self.throttled else idle_seconds)
                except Exception:  # the messenger keeps going; rows stay in the outbox
                    log.exception("outbox pass failed")
                    interrupted = True
                    stop.wait(1.0)
        finally:
            if self._pool is not None:  # the calls in flight end within a client timeout
                self._pool.shutdown(wait_seconds=float(getattr(self.client, "timeout", 0) or 0) + 1)
                self._pool = None

    def _busy(self) -> bool:
        with self._flying_lock:
            return len(self._flying) >= self.concurrency

    def _dispatch(self) -> list[Future[bool]]:
        """Start a call for the head of every lane that may go now."""
        now, moment = self.clock(), time.monotonic()
        self.throttled, waits = False, []
        with self._flying_lock:
            slots = self.concurrency - len(self._flying)
        if self.workspace is not None and not self.workspace.ready(moment):
            slots, waits = 0, [self.workspace.wait()]
        elif self.workspace is not None:
            slots = min(slots, int(self.workspace.tokens))
        if slots <= 0:
            self.throttled = bool(waits)
            self._throttle_wait = max(min([*waits, 0.2]), 0.002)
            return []
        edits_paused = self.paused_until.get(EDITS, now) > now
        with self.engine.connect() as conn:
            heads = outbox_lanes.oldest_per_lane(outbox_lanes.heads(conn), self._same_channel)
            with self._flying_lock:
                free = [head for lane, head in heads.items() if lane not in self._flying
                        and self.paused_until.get(lane, now) <= now and self._bucket(lane).ready(moment)
                        and not (edits_paused and lane.startswith(outbox_lanes.HEADER_LANE))]
            rows = outbox_lanes.due_heads(conn, free, now, limit=slots + 4)
        self._learn_lanes((row["channel"], row["run_channel"]) for row in rows if row["thread_key"])
        submitted: list[Future[bool]] = []
        for row in rows:
            lane = self._lane(row)
            with self._flying_lock:
                if lane in self._flying:
                    continue
                if len(self._flying) >= self.concurrency:
                    break
            moment = time.monotonic()
            limits = [self._bucket(lane)] + ([self.workspace] if self.workspace is not None else [])
            if not all(limit.ready(moment) for limit in limits):
                self.throttled = True
                waits.append(max(limit.wait() for limit in limits))
                continue
            for limit in limits:
                limit.take()
            submitted.append(self._start(lane, row))
        self._throttle_wait = min([*waits, 0.2]) if waits else 0.005
        self._throttle_wait = max(self._throttle_wait, 0.002)
        return submitted

    def _bucket(self, lane: str) -> TokenBucket:
        return self.buckets.setdefault(lane, TokenBucket(self.rate, self.burst, 1.0 + self.burst))

    def _start(self, lane: str, row: Any) -> Future[bool]:
        if self._pool is None:
            self._pool = Senders(self.concurrency)
        with self._flying_lock:
            self._flying[lane] = row["id"]
        future = self._pool.submit(self._send_guarded, row)

        def landed(done: Future[bool]) -> None:
            with self._flying_lock:
                self._flying.pop(lane, None)
            error = done.exception() if not done.cancelled() else None
            if error is not None and not isinstance(error, Exception):
                self._deaths.append(error)  # the process dying: `run` raises it
            self._settled.set()

        future.add_done_callback(landed)
        return future

    def _send_guarded(self, row: Any) -> bool:
        try:
            return self.send(row)
        except Exception:  # a database error, say: the row may be left `sending`
            log.exception("sending outbox message %s failed", row["id"])
            self._failed_pass = True
            return False

    # --- one message ---------------------------------------------------------------------------
    def send(self, row: Any) -> bool:
        # Everything before the call is done before the row is claimed, so that a process dying
        # between claim and call (which leaves a post to be waited for) is as unlikely as can be.
        try:
            prepared = self._prepare(row)
        except UnknownMessageKind as exc:  # nothing was sent
            self._unreadable(row, exc)
            return False
        except SlackApiError as exc:  # channels Slack would not list now, a header not posted yet
            self._retry_later(row, error_of(exc), called=False)
            return False
        except Exception as exc:  # noqa: BLE001 - listing the channels got no answer: nothing sent
            self._retry_later(row, f"{type(exc).__name__}: {exc}", called=False)
            return False
        now = self.clock()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(OUTBOX).where(OUTBOX.c.id == row["id"], OUTBOX.c.status == "pending")
                .values(status="sending", attempts=OUTBOX.c.attempts + 1, claimed_at=now)
            ).rowcount
        if not claimed:
            return False  # another messenger took it
        if self._unconfirmed(row):
            try:
                found = self._find_sent(row)
            except SlackApiError as exc:
                if transient(exc):
                    self._retry_later(row, f"lookup: {error_of(exc)}")
                    return False
                # Slack will not let us look: sending again risks a double; not sending would
                # lose the message.
                log.warning("could not look for outbox message %s in Slack (%s); sending it", row["id"], error_of(exc))
                found = None
            except TooMuchHistory as exc:
                log.warning("could not look for outbox message %s in Slack (%s); sending it", row["id"], exc)
                found = None
            except Exception as exc:  # noqa: BLE001 - no answer: cannot tell yet, ask again later
                self._retry_later(row, f"lookup: {type(exc).__name__}: {exc}", unanswered=True)
                return False
            if found is not None:
                with self.engine.begin() as conn:
                    self._mark_sent(conn, row, found, None)
                return True
            if row["error"] == INTERRUPTED and row["claimed_at"] is not None:
                safe = row["claimed_at"] + timedelta(seconds=self.late_apply_seconds)
                if safe > now:  # the call never answered may still be applied: look again then
                    self._requeue(row, at=safe)
                    return False
        try:
            ts, channel = self._call(row, prepared)
        except SlackApiError as exc:
            self._failed(row, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - no answer (network, timeout): Slack may have it
            self._retry_later(row, f"{type(exc).__name__}: {exc}", unanswered=True)
            return False
        with self.engine.begin() as conn:
            self._mark_sent(conn, row, ts, channel)
        return True

    def _lane(self, row: Any) -> str:
        """The lane a row waits in (see `bot.slack.outbox_lanes`), a `#name` as its id."""
        return self._same_channel(outbox_lanes.lane_of(row))

    def _same_channel(self, lane: str) -> str:
        return self.names.known(lane) or lane if is_name(lane) else lane

    def _learn_lanes(self, pairs: Any) -> None:
        for named, channel_id in pairs:
            if named and channel_id and named != channel_id and is_name(named):
                self._learn(named, channel_id)

    def _learn(self, name: str, channel_id: str) -> None:
        """`#name` is the channel `channel_id`: one lane from now on, and it keeps the name's
        rate-limit bucket (a fresh bucket would let a burst through that Slack answers 429)."""
        self.names.learn(name, channel_id)
        bucket = self.buckets.pop(name, None)
        if bucket is not None:
            self.buckets.setdefault(channel_id, bucket)
