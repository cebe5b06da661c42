"""Away periods: people say when they are away, and stand-ups leave them alone those days.

The engine reads them through the stored directory's snapshot (`bot.engine.people`), never
inside a transition; a change written here makes that snapshot reload before the next one.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Engine, Table, delete, insert, select

from bot.engine.people import people_changed
from bot.store.models import AwayPeriod

# (`__table__` is typed as any FromClause; a mapped class's is its Table.)
AWAY = cast(Table, AwayPeriod.__table__)


def add_away(engine: Engine, user: str, starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValueError("the last day comes before the first")
    with engine.begin() as conn:
        conn.execute(insert(AWAY).values(user_id=user, starts_on=starts_on, ends_on=ends_on))
    people_changed()  # committed: the next transition sees it


def clear_away(engine: Engine, user: str, today: date) -> int:
    """Forget the user's away periods that have not ended yet. Returns how many."""
    with engine.begin() as conn:
        count = conn.execute(delete(AWAY).where(AWAY.c.user_id == user, AWAY.c.ends_on >= today)).rowcount
    people_changed()
    return count


def away_periods(engine: Engine, user: str, today: date) -> list[tuple[date, date]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AWAY.c.starts_on, AWAY.c.ends_on)
                            .where(AWAY.c.user_id == user, AWAY.c.ends_on >= today).order_by(AWAY.c.starts_on))
        return [(start, end) for start, end in rows]
