"""Figures read from the database at scrape time: runs by state, steps waiting on people,
escalations, the outbox, and how steps and phases went (`steps`). Every process reads the same rows, so any one of them reports
the true global numbers; a scrape is a few aggregate queries on one connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select

from bot.engine.queries import ACTIVE_RUN_STATUSES
from bot.observability.steps import StepCatalog, step_families
from bot.store.db import READ_ONLY
from bot.store.models import RUN_STATUSES, AuditEvent, OutboxMessage, Run, StepRun

log = logging.getLogger("conductor.metrics")
CATALOG = StepCatalog()  # stored workflow versions' steps, parsed once for every scrape

RUNS = Run.__table__
STEP_RUNS = StepRun.__table__
AUDIT = AuditEvent.__table__
OUTBOX = OutboxMessage.__table__
UNDELIVERED = ("pending", "sending")  # `sending`: claimed by the messenger, not yet accepted by Slack
ESCALATED_AUDIT_TYPE = "escalated"  # the audit row the engine writes when it hands a step to people


class DatabaseCollector(Collector):
    """A Prometheus collector that asks the database on every scrape."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        # Reads only: on SQLite it must not take the write lock, so a scrape never waits on a
        # writer nor holds one up. The queries share one snapshot (SQLite's read transaction;
        # REPEATABLE READ on PostgreSQL, where each statement would otherwise see newer commits),
        # so a step is never counted escalated in a run still counted running.
        options: dict[str, object] = dict(READ_ONLY)
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        self.engine = engine.execution_options(**options)
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("conductor_database_up", "1 when the last scrape could read the database, else 0.")
        try:
            with self.engine.connect() as conn:
                families = list(self._families(conn))
        except Exception:  # a scrape must answer; the process's own figures still count
            log.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, conn: Connection) -> Iterator[Metric]:
        runs = {(workflow, status): count for workflow, status, count in conn.execute(
            select(RUNS.c.workflow_id, RUNS.c.status, func.count()).group_by(RUNS.c.workflow_id, RUNS.c.status))}
        workflows = sorted({workflow for workflow, _ in runs})
        by_state = GaugeMetricFamily("conductor_runs", "Runs by workflow and state.", labels=["workflow", "state"])
        for workflow in workflows:
            for state in RUN_STATUSES:  # every state, so a series drops to 0 rather than vanishing
                by_state.add_metric([workflow, state], runs.get((workflow, state), 0))
        yield by_state

        steps = {(workflow, status): count for workflow, status, count in conn.execute(
            select(RUNS.c.workflow_id, STEP_RUNS.c.status, func.count())
            .select_from(STEP_RUNS.join(RUNS, STEP_RUNS.c.run_id == RUNS.c.id))
            .where(STEP_RUNS.c.status.in_(("waiting_on_person", "escalated")), RUNS.c.status.in_(ACTIVE_RUN_STATUSES))
            .group_by(RUNS.c.workflow_id, STEP_RUNS.c.status))}
        waiting = GaugeMetricFamily("conductor_steps_waiting_on_people",
                                    "Steps of active runs waiting on a person to answer, approve or decide.",
                                    labels=["workflow"])
        escalated = GaugeMetricFamily("conductor_steps_escalated",
                                      "Automated steps of active runs handed to people after failing, not yet resolved.",
                                      labels=["workflow"])
        for workflow in workflows:
            waiting.add_metric([workflow], steps.get((workflow, "waiting_on_person"), 0))
            escalated.add_metric([workflow], steps.get((workflow, "escalated"), 0))
        yield waiting
        yield escalated

        escalations = dict(conn.execute(  # type: ignore[arg-type]
            select(RUNS.c.workflow_id, func.count())
            .select_from(AUDIT.join(RUNS, AUDIT.c.run_id == RUNS.c.id))
            .where(AUDIT.c.type == ESCALATED_AUDIT_TYPE).group_by(RUNS.c.workflow_id)).all())
        total = CounterMetricFamily("conductor_escalations", "Automations handed to people after failing, ever.",
                                    labels=["workflow"])
        for workflow in workflows:
            total.add_metric([workflow], escalations.get(workflow, 0))
        yield total

        yield from self._outbox(conn)
        yield from step_families(conn, CATALOG)

    def _outbox(self, conn: Connection) -> Iterator[Metric]:
        rows = conn.execute(
            select(OUTBOX.c.status, func.count(), func.min(OUTBOX.c.created_at))
            .where(OUTBOX.c.status.in_((*UNDELIVERED, "failed"))).group_by(OUTBOX.c.status)).all()
        counts = {status: count for status, count, _ in rows}
        oldest = min((first for status, _, first in rows if status in UNDELIVERED and first is not None), default=None)
        depth = GaugeMetricFamily("conductor_outbox_pending_messages",
                                  "Slack messages written but not yet delivered (the outbox's depth).")
        depth.add_metric([], sum(counts.get(status, 0) for status in UNDELIVERED))
        yield depth
        age = GaugeMetricFamily("conductor_outbox_oldest_pending_age_seconds",
                                "Age of the oldest undelivered Slack message (0 when none waits).")
        age.add_metric([], max(0.0, (self.now() - oldest).total_seconds()) if oldest is not None else 0.0)
        yield age
        failed = GaugeMetricFamily("conductor_outbox_failed_messages",
                                   "Slack messages Slack refused for good (not retried).")
        failed.add_metric([], counts.get("failed", 0))
        yield failed
