"""The outbox as lanes: which row of each lane may go next.

A lane is what must keep its order: a channel (a run's thread rows follow the run's channel,
`#name` until its header is posted, Slack's id after), a person's DM, or a run's header edits.
Edits have a lane of their own: each renders the run as it is when sent, so they need no order
against the thread, and an edit held back (waiting out a call Slack may still apply) must not
hold back the run's channel.

Only the oldest undelivered row of a lane may go, so the messenger reads the head of every lane
(one row each, however many wait behind it) and then, of those, the ones due now. A lane
stalled on a 429 pause or a long backoff costs one head row, never the place of another lane,
as a plain "oldest 200 rows" read did: 200 rows in stalled lanes starved every other channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from bot.store.models import OutboxMessage, Run

OUTBOX = OutboxMessage.__table__
RUNS = Run.__table__
UNDELIVERED = ("pending", "sending")
HEADER_LANE = "header:"
CHUNK = 500  # ids per `IN (...)`: well inside every database's parameter limit

_LANE = case(
    (OUTBOX.c.kind == "update", literal(HEADER_LANE) + func.coalesce(OUTBOX.c.run_id, "")),
    (and_(OUTBOX.c.thread_key.is_not(None), RUNS.c.channel.is_not(None)), RUNS.c.channel),
    else_=OUTBOX.c.channel,
)


def lane_of(row: Mapping[str, Any]) -> str:
    """The lane of a row read by `due_heads` (the same rule as the SQL above)."""
    if row["kind"] == "update":
        return HEADER_LANE + (row["run_id"] or "")
    if row["thread_key"] and row.get("run_channel"):
        return str(row["run_channel"])
    return str(row["channel"])


def heads(conn: Connection) -> list[tuple[str, int]]:
    """(lane, id of its oldest undelivered row) for every lane with something undelivered."""
    query = (select(_LANE.label("lane"), func.min(OUTBOX.c.id).label("head"))
             .select_from(OUTBOX.outerjoin(RUNS, RUNS.c.id == OUTBOX.c.run_id))
             .where(OUTBOX.c.status.in_(UNDELIVERED)).group_by(_LANE))
    return [(str(lane), int(head)) for lane, head in conn.execute(query)]


def oldest_per_lane(pairs: Iterable[tuple[str, int]], same: Any) -> dict[str, int]:
    """Lanes that are one channel under two names (`#name` and its id) merged: `same(lane)`
    gives the channel a lane stands for; each keeps its oldest head."""
    merged: dict[str, int] = {}
    for lane, head in pairs:
        channel = same(lane)
        if channel not in merged or head < merged[channel]:
            merged[channel] = head
    return merged


def due_heads(conn: Connection, ids: Sequence[int], now: datetime, limit: int) -> list[Any]:
    """The oldest `limit` of `ids` that are pending and due, with their run's channel and
    thread (a mapping per row). Only as many as can go are read: a fan-out to a thousand
    people has a thousand heads, and reading each in full on every pass cost more than the
    pass could send."""
    rows: list[Any] = []
    oldest_first = sorted(ids)
    for start in range(0, len(oldest_first), CHUNK):
        chunk = oldest_first[start:start + CHUNK]
        rows += conn.execute(
            select(OUTBOX, RUNS.c.channel.label("run_channel"), RUNS.c.thread_ts.label("run_thread_ts"))
            .outerjoin(RUNS, RUNS.c.id == OUTBOX.c.run_id)
            .where(OUTBOX.c.id.in_(chunk), OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now,
                   or_(OUTBOX.c.kind != "update", RUNS.c.thread_ts.is_not(None)))  # an edit waits for its header
            .order_by(OUTBOX.c.id).limit(limit)
        ).mappings().all()
        if len(rows) >= limit:
            break
    return rows[:limit]
