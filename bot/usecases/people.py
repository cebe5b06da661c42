"""Away periods: a person says when they are away; stand-ups (and later, any step) leave them
alone those days. Days are counted on the service's clock, so a rehearsal's time is used."""

from __future__ import annotations

from datetime import date

from bot.engine.away import add_away, away_periods, clear_away
from bot.usecases.base import Base
from bot.usecases.results import AwayDays, AwaySet, Back, Refused


class PeopleCases(Base):
    def away(self, actor: str, first: date, last: date) -> AwaySet | Refused:
        if last < first:
            return Refused("the last day comes before the first", "invalid_period")
        add_away(self.service.engine, actor, first, last)
        self.audit("away_set", actor, {"first": first.isoformat(), "last": last.isoformat()})
        return AwaySet(first, last)

    def back(self, actor: str) -> Back:
        removed = clear_away(self.service.engine, actor, self.now().date())
        if removed:
            self.audit("away_cleared", actor, {"removed": removed})
        return Back(removed)

    def away_days(self, actor: str) -> AwayDays:
        return AwayDays(tuple(away_periods(self.service.engine, actor, self.now().date())))
