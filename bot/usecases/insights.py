"""Insights into how workflows run (`bot.insights`): what the figures of the last 90 days say,
and the advisories drawn from them, for the people who may act on them.

A workflow's insights are its conductor's (whoever its `conductor` role names) and the
admins'; anyone else is refused privately and the refusal is audited, like any other read
they may not make. The App Home shows the same advisories, one line each, to the same people
and to nobody else."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.engine.permissions import is_member, principals_of
from bot.insights import collect_insights
from bot.usecases.reads import Home, ReadCases, plain_id
from bot.usecases.results import Refused

SINCE = timedelta(days=90)
HOME_CACHE_SECONDS = 60.0  # the App Home is opened often; its advisories may be a minute old


@dataclass(frozen=True)
class Advisory:
    """One thing the figures suggest changing, with the evidence behind it."""

    workflow: str
    step: str | None
    kind: str
    summary: str
    suggestion: str
    runs: int  # runs looked at
    count: int  # of which the thing happened in
    rate: float | None
    low: float | None  # the rate's interval
    high: float | None
    run_ids: tuple[str, ...] = ()

    @staticmethod
    def from_json(item: dict[str, Any]) -> Advisory:
        evidence = item.get("evidence") or {}
        return Advisory(
            workflow=str(item.get("workflow") or ""), step=item.get("step"), kind=str(item.get("kind") or ""),
            summary=str(item.get("summary") or ""), suggestion=str(item.get("suggestion") or ""),
            runs=int(evidence.get("runs") or 0), count=int(evidence.get("count") or 0),
            rate=_number(evidence.get("rate")), low=_number(evidence.get("low")), high=_number(evidence.get("high")),
            run_ids=tuple(str(r) for r in evidence.get("run_ids") or ()),
        )


@dataclass(frozen=True)
class Insights:
    """A report (`Report.to_json()`), narrowed to the workflows the person may see."""

    report: dict[str, Any]
    workflows: tuple[str, ...]  # the workflows shown, in order

    @property
    def advisories(self) -> tuple[Advisory, ...]:
        return tuple(Advisory.from_json(a) for a in self.report.get("advisories") or ())


@dataclass(frozen=True)
class HomeWithInsights(Home):
    advisories: tuple[Advisory, ...] = ()
    insight_workflows: tuple[str, ...] = ()  # whose insights the person may see (none: no Insights part)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class InsightCases(ReadCases):
    def insights(self, actor: str, workflow_id: str | None = None) -> Insights | Refused:
        """The insights of `workflow_id` (or of every workflow `actor` conducts, all of them
        for an admin)."""
        if workflow_id is not None:
            known = plain_id(workflow_id)
            if known is None or known not in self.versions.workflow_ids():
                return Refused(f"there is no workflow `{workflow_id}` (see `/conductor list`)", "unknown_workflow")
            if not self.may_see_insights(actor, known):
                return self.refuse(actor, "Insights", f"only the conductor of `{known}` and Conductor's admins "
                                   "may see its insights", workflow_id=known)
            return self._report([known])
        shown = self.insight_workflows(actor)
        if not shown:
            return self.refuse(actor, "Insights", "only a workflow's conductor and Conductor's admins may see "
                               "its insights, and you conduct no workflow")
        return self._report(shown, everything=actor in self._admins())

    def home(self, actor: str) -> HomeWithInsights:
        """The App Home, with the advisories of the workflows `actor` conducts (all of them for
        an admin); nothing more for anyone else, and nothing computed for them either."""
        home = super().home(actor)
        advisories: tuple[Advisory, ...] = ()
        shown = self.insight_workflows(actor)
        if shown:
            advisories = self._cached(tuple(shown), actor in self._admins()).advisories
        return HomeWithInsights(home.waiting, home.board, home.attention, home.hidden, advisories, tuple(shown))

    # --- who may see insights -------------------------------------------------------------------
    def may_see_insights(self, actor: str, workflow_id: str, *, prepared: bool = False) -> bool:
        """Admins, and whoever the workflow's `conductor` role names (groups expanded)."""
        if actor in self._admins():
            return True
        workflow = self.versions.current(workflow_id).workflow
        if not workflow.conductor:
            return False
        if not prepared:
            self._prepare()
        return is_member(actor, principals_of(workflow, [workflow.conductor], None), self.service.directory)

    def insight_workflows(self, actor: str) -> list[str]:
        """The workflows whose insights `actor` may see."""
        self._prepare()
        return [w for w in self.versions.workflow_ids() if self.may_see_insights(actor, w, prepared=True)]

    # --- the report -----------------------------------------------------------------------------
    def _report(self, workflows: list[str], *, everything: bool = False) -> Insights:
        one = workflows[0] if len(workflows) == 1 and not everything else None
        report = collect_insights(self.service.engine, self.versions, now=self.now(), since=SINCE, workflow_id=one)
        data = report.to_json()
        if not everything:
            allowed = set(workflows)
            data = {**data,
                    "workflows": [w for w in data.get("workflows") or () if w.get("id") in allowed],
                    "advisories": [a for a in data.get("advisories") or () if a.get("workflow") in allowed]}
        shown = tuple(str(w.get("id")) for w in data.get("workflows") or ())
        return Insights(data, shown or tuple(workflows))

    def _cached(self, workflows: tuple[str, ...], everything: bool) -> Insights:
        cache: dict[tuple[tuple[str, ...], bool], tuple[float, Insights]] = self.__dict__.setdefault(
            "_insight_cache", {})
        key = (workflows, everything)
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < HOME_CACHE_SECONDS:
            return hit[1]
        found = self._report(list(workflows), everything=everything)
        if len(cache) > 256:
            cache.clear()
        cache[key] = (time.monotonic(), found)
        return found
