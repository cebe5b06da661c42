"""Away periods: people say when they are away, and stand-ups leave them alone those days."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, delete, insert, select

from bot.engine.permissions import Directory
from bot.store.db import READ_ONLY
from bot.store.models import AwayPeriod

AWAY = AwayPeriod.__table__


def add_away(engine: Engine, user: str, starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValueError("the last day comes before the first")
    with engine.begin() as conn:
        conn.execute(insert(AWAY).values(user_id=user, starts_on=starts_on, ends_on=ends_on))


def clear_away(engine: Engine, user: str, today: date) -> int:
    """Forget the user's away periods that have not ended yet. Returns how many."""
    with engine.begin() as conn:
        return conn.execute(delete(AWAY).where(AWAY.c.user_id == user, AWAY.c.ends_on >= today)).rowcount


def away_periods(engine: Engine, user: str, today: date) -> list[tuple[date, date]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AWAY.c.starts_on, AWAY.c.ends_on)
                            .where(AWAY.c.user_id == user, AWAY.c.ends_on >= today).order_by(AWAY.c.starts_on))
        return [(start, end) for start, end in rows]


class WithAwayPeriods:
    """A directory that also knows who is away, from the database."""

    def __init__(self, inner: Directory, engine: Engine):
        self.inner = inner
        self.engine = engine

    def group_members(self, group_id: str) -> frozenset[str]:
        return self.inner.group_members(group_id)

    def user_timezone(self, user_id: str) -> str | None:
        return self.inner.user_timezone(user_id)

    def is_away(self, user_id: str, day: date) -> bool:
        # Asked while a transition holds the write lock: this connection must only read.
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return conn.execute(
                select(AWAY.c.id).where(AWAY.c.user_id == user_id, AWAY.c.starts_on <= day, AWAY.c.ends_on >= day).limit(1)
            ).first() is not None
