"""Delivering the outbox to Slack: in order per channel, within Slack's rate limits, once.

The engine writes every message as an outbox row in the transaction that caused it; this
sends them. Rules:

- Per channel, rows go out in the order they were written; a later row waits for an earlier
  one (so a thread never shows a reply before its question). A channel is one lane however
  rows name it: a run's thread rows follow the run's channel (`#name` until the header is
  posted, Slack's id after), and a name Slack has answered for maps to its id.
- About one message per second per channel, with a short burst (a token bucket), as Slack
  asks of `chat.postMessage`; a 429 pauses that channel for its `Retry-After`.
- 5xx answers, timeouts and network errors are retried with exponential backoff (capped at
  five minutes); errors another try cannot fix (`channel_not_found`, `invalid_blocks`, ...) mark
  the row failed with Slack's error, for people to see.
- Exactly once: a row is marked `sending` (committed) before the call and `sent` with its `ts`
  after. Each post carries the row's key in Slack message metadata. A post whose fate is
  unknown (left `sending` by a crash, a 5xx, a timeout: Slack may have taken it) is marked
  unconfirmed and looked up in the channel's history before it is sent again: found, it is
  marked sent; not found, it is sent. After a timeout the first look waits a few client
  timeouts, as Slack may still apply a call it did not answer. (Slack takes no idempotency
  key, so a call Slack holds even longer and then applies would still show twice.)
- A row this release cannot read (a message kind it does not know) is marked failed and
  logged, never sent as something vague.
- The run's first message (`run_started`) is its header; its `ts` becomes the run's thread, and
  header updates edit it in place (several pending updates of one run are sent as one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, func, select, update

from bot.engine.messages import UnknownMessageKind
from bot.engine.state import RunState
from bot.engine.versions import WorkflowVersions
from bot.observability.context import log_context
from bot.observability.metrics import count_slack_ratelimited
from bot.slack.client import retry_after
from bot.store.models import OutboxMessage, Run

log = logging.getLogger("conductor.messenger")
OUTBOX = OutboxMessage.__table__
RUNS = Run.__table__
METADATA_TYPE = "conductor_message"
MAX_BACKOFF_SECONDS = 300
# Errors worth trying again; anything else Slack says is final for that message.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# The error of a post Slack may have taken without telling us: look for it before posting again.
UNCONFIRMED = "unconfirmed: "
# A call the client gave up on is looked for after this many client timeouts.
UNANSWERED_WAIT_TIMEOUTS = 3


@dataclass
class TokenBucket:
    """`rate` messages per second with `burst` extra; `take` says when the next may go."""

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


class Messenger:
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
        self.buckets: dict[str, TokenBucket] = {}
        # Across all channels (DMs are channels too): a stand-up's fan-out must not flood Slack.
        self.workspace = TokenBucket(workspace_rate, 1, 2.0) if workspace_rate else None
        self.paused_until: dict[str, datetime] = {}
        self.lanes: dict[str, str] = {}  # a channel's `#name` (or a user's DM) -> Slack's channel id
        self.dm_channels: dict[str, str] = {}
        self._covered: dict[int, int] = {}  # update row id -> newest update of its run it stands for
        self.throttled = False

    # --- the loop ------------------------------------------------------------------------------
    def recover(self) -> int:
        """Rows left `sending` by a crash go back in line: an edit is simply made again; a post
        is unconfirmed, looked for in Slack before it is sent again (see `send`)."""
        with self.engine.begin() as conn:
            edits = conn.execute(update(OUTBOX).where(OUTBOX.c.status == "sending", OUTBOX.c.kind == "update")
                                 .values(status="pending")).rowcount
            posts = conn.execute(update(OUTBOX).where(OUTBOX.c.status == "sending")
                                 .values(status="pending", error=UNCONFIRMED + "interrupted")).rowcount
            # Which `#name` is which channel id, from active runs whose header is posted.
            self._learn_lanes(conn.execute(
                select(OUTBOX.c.channel, RUNS.c.channel).distinct().join(RUNS, RUNS.c.id == OUTBOX.c.run_id)
                .where(RUNS.c.status.in_(("running", "waiting")), RUNS.c.thread_ts.is_not(None),
                       OUTBOX.c.thread_key.is_not(None), OUTBOX.c.channel != RUNS.c.channel)))
        return edits + posts

    def deliver_due(self, limit: int = 200) -> int:
        """One pass: send what may go now. Returns how many messages were sent."""
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(OUTBOX, RUNS.c.channel.label("run_channel")).outerjoin(RUNS, RUNS.c.id == OUTBOX.c.run_id)
                .where(OUTBOX.c.status.in_(("pending", "sending"))).order_by(OUTBOX.c.id).limit(limit)
            ).mappings().all()
        self._learn_lanes((row["channel"], row["run_channel"]) for row in rows if row["thread_key"])
        sent = 0
        self.throttled = False
        blocked: set[str] = set()
        for row in rows:
            channel = self._lane(row)
            if channel in blocked:
                continue
            blocked.add(channel)  # whatever happens, later rows of this channel wait for this one
            if row["status"] == "sending" or row["next_attempt_at"] > now or self.paused_until.get(channel, now) > now:
                continue
            bucket = self.buckets.setdefault(channel, TokenBucket(self.rate, self.burst, 1.0 + self.burst))
            moment = time.monotonic()
            if not bucket.ready(moment) or (self.workspace is not None and not self.workspace.ready(moment)):
                self.throttled = True
                continue
            bucket.take()
            if self.workspace is not None:
                self.workspace.take()
            if self.send(row):
                sent += 1
        return sent

    def run(self, stop: Any, idle_seconds: float = 0.2) -> None:
        """Deliver until `stop` (a threading.Event) is set."""
        interrupted = True  # at start, and after a failed pass: a row may have been left `sending`
        while not stop.is_set():
            try:
                if interrupted:
                    self.recover()
                    interrupted = False
                if not self.deliver_due():
                    # Held back by a rate limit: look again soon; otherwise rest a little.
                    stop.wait(0.005 if self.throttled else idle_seconds)
            except Exception:  # the messenger keeps going; rows stay in the outbox
                log.exception("outbox pass failed")
                interrupted = True
                stop.wait(1.0)

    # --- one message ---------------------------------------------------------------------------
    def send(self, row: Any) -> bool:
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(OUTBOX).where(OUTBOX.c.id == row["id"], OUTBOX.c.status == "pending")
                .values(status="sending", attempts=OUTBOX.c.attempts + 1)
            ).rowcount
        if not claimed:
            return False  # another messenger took it
        if self._unconfirmed(row):
            try:
                found = self._find_sent(row)
            except SlackApiError as exc:
                if _transient(exc):
                    self._retry_later(row, f"lookup: {_error_of(exc)}")
                    return False
                # Slack will not let us look (e.g. a `#name` it does not take for history):
                # sending again risks a double; not sending would lose the message.
                log.warning("could not look for outbox message %s in Slack (%s); sending it", row["id"], _error_of(exc))
                found = None
            except Exception as exc:  # noqa: BLE001 - no answer: cannot tell yet, ask again later
                self._retry_later(row, f"lookup: {type(exc).__name__}: {exc}", unanswered=True)
                return False
            if found is not None:
                with self.engine.begin() as conn:
                    self._mark_sent(conn, row, found, self.lanes.get(row["channel"]))
                return True
        try:
            ts, channel = self._call(row)
        except SlackApiError as exc:
            self._failed(row, exc)
            return False
        except UnknownMessageKind as exc:  # before Slack was called: nothing was sent
            self._unreadable(row, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - no answer (network, timeout): Slack may have it
            self._retry_later(row, f"{type(exc).__name__}: {exc}", unanswered=True)
            return False
        if channel and row["kind"] != "update":
            self.lanes[row["channel"]] = channel
        with self.engine.begin() as conn:
            self._mark_sent(conn, row, ts, channel)
        return True

    def _lane(self, row: Any) -> str:
        """The channel a row waits in line for (see the module's rules)."""
        channel = (row.get("run_channel") if row["thread_key"] else None) or row["channel"]
        return self.lanes.get(channel, channel)

    def _learn_lanes(self, pairs: Any) -> None:
        for named, channel_id in pairs:
            if named and channel_id and named != channel_id:
                self.lanes[named] = channel_id

    @staticmethod
    def _unconfirmed(row: Any) -> bool:
        return row["kind"] != "update" and (row["error"] or "").startswith(UNCONFIRMED)

    def _call(self, row: Any) -> tuple[str, str | None]:
        payload = dict(row["payload"])
        kind = payload.get("kind")
        if row["kind"] == "update":
            # The header shows the run as it is when read, which covers every update written
            # before: read which those are first, so that one edit stands for all of them.
            self._covered[row["id"]] = self._newest_update(row["run_id"], row["id"])
        context = self._run_context(payload.get("run_id"))
        rendered = self.render(payload, context)
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"key": row["dedupe_key"]}}
        if row["kind"] == "update":
            thread_ts = context.get("thread_ts")
            if not thread_ts:
                raise SlackApiError("the run has no header yet", {"ok": False, "error": "header_not_posted"})
            response = self.client.chat_update(channel=context["channel_id"], ts=thread_ts, **rendered)
            return response["ts"], None
        channel = row["channel"]
        if row["kind"] == "dm":
            channel = self._dm_channel(channel)
        thread_ts = None
        if row["thread_key"] and kind != "run_started":
            thread_ts = context.get("thread_ts")
            channel = context.get("channel_id") or channel
        response = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, metadata=metadata, unfurl_links=False, **rendered
        )
        return response["ts"], response.get("channel")

    def _dm_channel(self, user: str) -> str:
        if user not in self.dm_channels:
            self.dm_channels[user] = self.client.conversations_open(users=user)["channel"]["id"]
        return self.dm_channels[user]

    def _run_context(self, run_id: str | None) -> dict[str, Any]:
        if not run_id:
            return {}
        with self.engine.connect() as conn:
            run = conn.execute(
                select(RUNS.c.state, RUNS.c.workflow_version_id, RUNS.c.thread_ts, RUNS.c.channel)
                .where(RUNS.c.id == run_id)
            ).one_or_none()
            if run is None:
                return {}
            workflow = self.versions.by_row(conn, run.workflow_version_id).workflow
        return {"workflow": workflow, "state": RunState.from_json(run.state), "run_id": run_id,
                "thread_ts": run.thread_ts, "channel_id": run.channel}

    # --- outcomes ------------------------------------------------------------------------------
    def _mark_sent(self, conn: Any, row: Any, ts: str, channel: str | None) -> None:
        now = self.clock()
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(status="sent", slack_ts=ts, sent_at=now, error=None))
        payload = row["payload"]
        if payload.get("kind") == "run_started" and payload.get("run_id"):
            # The header's ts is the run's thread; Slack's channel id replaces a `#name`.
            values: dict[str, Any] = {"thread_ts": ts}
            if channel:
                values["channel"] = channel
            conn.execute(update(RUNS).where(RUNS.c.id == payload["run_id"]).values(**values))
        if row["kind"] == "update":
            # The other header updates of the run written before this edit read it are covered.
            covered = self._covered.pop(row["id"], row["id"])
            conn.execute(update(OUTBOX).where(
                OUTBOX.c.run_id == row["run_id"], OUTBOX.c.kind == "update", OUTBOX.c.status == "pending",
                OUTBOX.c.id <= covered).values(status="sent", sent_at=now))

    def _newest_update(self, run_id: str | None, at_least: int) -> int:
        with self.engine.connect() as conn:
            newest = conn.execute(select(func.max(OUTBOX.c.id)).where(
                OUTBOX.c.run_id == run_id, OUTBOX.c.kind == "update", OUTBOX.c.status == "pending")).scalar()
        return max(newest or at_least, at_least)

    def _failed(self, row: Any, exc: SlackApiError) -> None:
        response = exc.response
        status, error = getattr(response, "status_code", None), _error_of(exc)
        if status == 429 or error == "ratelimited":
            count_slack_ratelimited(getattr(response, "api_url", "") or "unknown")
            until = self.clock() + timedelta(seconds=retry_after(getattr(response, "headers", None)))
            self.paused_until[self._lane(row)] = until
            with self.engine.begin() as conn:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(
                    status="pending", next_attempt_at=until, attempts=OUTBOX.c.attempts - 1,
                    error=row["error"] if self._unconfirmed(row) else "ratelimited"))
            return
        if _transient(exc) or error == "header_not_posted":
            self._retry_later(row, str(error))
            return
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(status="failed", error=str(error)))
        # One line, once it is settled: the message is given up (it stays in the outbox as failed).
        with log_context(run_id=row["run_id"]):
            log.warning("Slack refused outbox message %s (%s to %s): %s; not sent", row["id"],
                        row["payload"].get("kind") or row["kind"], row["channel"], error)

    def _unreadable(self, row: Any, exc: UnknownMessageKind) -> None:
        """A row of a kind this release does not know (written by a newer one, or damaged):
        shown as something vague it would mislead, and another try cannot read it either."""
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(status="failed", error=str(exc)[:500]))
        with log_context(run_id=row["run_id"]):
            log.error("outbox message %s (%s to %s) cannot be read: %s; not sent", row["id"], row["kind"],
                      row["channel"], exc)

    def _retry_later(self, row: Any, error: str, *, unanswered: bool = False) -> None:
        """Try again after a backoff. A post may have reached Slack all the same: it is
        unconfirmed from now on, and after no answer at all, looked for only once Slack has
        had a few client timeouts to apply it."""
        delay = min(self.backoff_seconds * 2 ** row["attempts"], MAX_BACKOFF_SECONDS)
        if unanswered:
            delay = max(delay, UNANSWERED_WAIT_TIMEOUTS * float(getattr(self.client, "timeout", 0) or 0))
        if row["kind"] != "update" and not error.startswith(UNCONFIRMED):
            error = UNCONFIRMED + error
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(
                status="pending", next_attempt_at=self.clock() + timedelta(seconds=delay), error=error[:500]))

    def _find_sent(self, row: Any) -> str | None:
        """The ts of the message carrying this row's key, if Slack already has it (raises
        when Slack cannot be asked)."""
        channel = self.lanes.get(row["channel"], row["channel"])  # history takes ids, not names
        if row["kind"] == "dm":
            channel = self._dm_channel(row["channel"])
        context = self._run_context(row["run_id"]) if row["thread_key"] else {}
        oldest = f"{(row['created_at'] - timedelta(minutes=1)).timestamp():.6f}"
        if context.get("thread_ts") and row["payload"].get("kind") != "run_started":
            try:
                found = self.client.conversations_replies(channel=context.get("channel_id") or channel, ts=context["thread_ts"],
                                                          oldest=oldest, include_all_metadata=True, limit=200)
            except SlackApiError as exc:
                if exc.response.get("error") == "thread_not_found":
                    return None  # nothing in the thread since the row was written
                raise
        else:
            found = self.client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True, limit=200)
        for message in found.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == row["dedupe_key"]:
                return message.get("ts")
        return None


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error") if hasattr(response, "get") else exc)


def _transient(exc: SlackApiError) -> bool:
    """Whether another try may succeed (5xx, rate limits, Slack's own trouble)."""
    status = getattr(exc.response, "status_code", None)
    return (status is not None and (status >= 500 or status == 429)) or _error_of(exc) in TRANSIENT_ERRORS
