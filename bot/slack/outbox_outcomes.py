"""What becomes of an outbox row after its Slack call: sent, retried after a backoff, paused
for a 429, back in line until a late-applied call can no longer land, or failed for people to
see. A part of `bot.slack.messenger.Messenger` (whose rules its module describes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, func, select, update

from bot.engine.messages import UnknownMessageKind
from bot.observability.context import log_context
from bot.observability.metrics import count_slack_ratelimited
from bot.slack.channel_names import ChannelNames, is_name
from bot.slack.client import retry_after
from bot.store.models import OutboxMessage, Run

log = logging.getLogger("conductor.messenger")
OUTBOX = OutboxMessage.__table__
RUNS = Run.__table__
MAX_BACKOFF_SECONDS = 300
# Errors worth trying again; anything else Slack says is final for that message.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# The error of a post Slack may have taken without telling us: look for it before posting again.
UNCONFIRMED = "unconfirmed: "
INTERRUPTED = UNCONFIRMED + "interrupted"  # left `sending` by a process that died mid-call
EDITS = "chat.update"  # the pause key of every header edit (a Tier 3 method, limited as one)


class Outcomes:
    engine: Engine
    clock: Callable[[], datetime]
    backoff_seconds: float
    names: ChannelNames
    paused_until: dict[str, datetime]
    _covered: dict[int, int]
    _lane: Callable[[Any], str]
    late_apply_seconds: float

    @staticmethod
    def _unconfirmed(row: Any) -> bool:
        return row["kind"] != "update" and (row["error"] or "").startswith(UNCONFIRMED)

    # --- outcomes ------------------------------------------------------------------------------
    def _mark_sent(self, conn: Any, row: Any, ts: str, channel: str | None) -> None:
        now = self.clock()
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(status="sent", slack_ts=ts, sent_at=now, error=None))
        payload = row["payload"]
        if payload.get("kind") == "run_started" and payload.get("run_id"):
            # The header's ts is the run's thread; Slack's channel id replaces a `#name`.
            values: dict[str, Any] = {"thread_ts": ts}
            channel = channel or (self.names.known(row["channel"]) if is_name(row["channel"]) else row["channel"])
            if channel and not is_name(channel):
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
        status, error = getattr(response, "status_code", None), error_of(exc)
        if status == 429 or error == "ratelimited":
            count_slack_ratelimited(getattr(response, "api_url", "") or "unknown")
            until = self.clock() + timedelta(seconds=retry_after(getattr(response, "headers", None)))
            self.paused_until[EDITS if row["kind"] == "update" else self._lane(row)] = until
            with self.engine.begin() as conn:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(
                    status="pending", next_attempt_at=until, attempts=OUTBOX.c.attempts - 1,
                    error=row["error"] if self._unconfirmed(row) else "ratelimited"))
            return
        if transient(exc) or error == "header_not_posted":
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

    def _requeue(self, row: Any, *, at: datetime) -> None:
        """Back in line, unchanged, until `at` (the try it just had does not count)."""
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(
                status="pending", next_attempt_at=at, attempts=OUTBOX.c.attempts - 1, claimed_at=row["claimed_at"]))

    def _retry_later(self, row: Any, error: str, *, unanswered: bool = False, called: bool = True) -> None:
        """Try again after a backoff. A post Slack was `called` for may have reached Slack all
        the same: it is unconfirmed from now on, and after no answer at all, looked for only
        once Slack has had a few client timeouts to apply it (an edit, likewise, is made again
        only then). A post left by a dead process stays marked so (INTERRUPTED) until it is
        found or sent: whatever else fails meanwhile, it is never sent within the window."""
        delay = min(self.backoff_seconds * 2 ** row["attempts"], MAX_BACKOFF_SECONDS)
        if unanswered:
            delay = max(delay, self.late_apply_seconds)
        if row["error"] == INTERRUPTED:
            error = INTERRUPTED
        elif row["kind"] != "update" and (called or self._unconfirmed(row)) and not error.startswith(UNCONFIRMED):
            error = UNCONFIRMED + error
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(
                status="pending", next_attempt_at=self.clock() + timedelta(seconds=delay), error=error[:500]))


def error_of(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error") if hasattr(response, "get") else exc)


def transient(exc: SlackApiError) -> bool:
    """Whether another try may succeed (5xx, rate limits, Slack's own trouble)."""
    status = getattr(exc.response, "status_code", None)
    return (status is not None and (status >= 500 or status == 429)) or error_of(exc) in TRANSIENT_ERRORS
