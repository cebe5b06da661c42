"""Figures about steps, read from the database at scrape time: how long each step took, how
long each phase waited and on what (a person, code, or time), how often each automated step
was handed to people, and how often a shadow agreed with the person it shadowed.

The histograms are cumulative over every finished step run the database holds (rows are never
taken away, so the counts only grow, as Prometheus expects); buckets are counted by the
database in one aggregate query. A step's kind and phase come from the workflow version its
run began on (parsed once from `workflow_versions` and kept). Labels are bounded: only steps
and phases a stored definition declares are reported, at most `MAX_SERIES` label sets per
family."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import ColumnElement, Connection, Float, case, cast, func, literal, select, true

from bot.definitions.loader import load_bytes
from bot.definitions.workflow import Workflow
from bot.store.models import AuditEvent, Run, StepRun, WorkflowVersion

log = logging.getLogger("conductor.metrics")

RUNS = Run.__table__
STEP_RUNS = StepRun.__table__
AUDIT = AuditEvent.__table__
VERSIONS = WorkflowVersion.__table__
ESCALATED = "escalated"
SHADOW_COMPARED = "shadow_compared"  # the audit row the engine writes when a shadow's outputs meet a person's
# From a quick automation to a week's approval: seconds.
STEP_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 8 * 3600.0, 86400.0,
                2 * 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0, 30 * 86400.0)
MAX_SERIES = 1000  # label sets per family; workflows and steps come from definitions, this is a backstop
WAITING_ON = ("person", "code", "time")
PEOPLE_KINDS = ("task", "approval", "standup")
TIMED_USES = ("conductor/wait",)


@dataclass(frozen=True)
class StepInfo:
    kind: str
    phase: str  # "" for a workflow without phases
    waiting_on: str  # person | code | time


def waiting_on(step: object) -> str:
    """What a phase waits on while `step` is open: people answer tasks, approvals, stand-ups and
    a person's gate; a timed automation (`at`, `after`, `conductor/wait`) waits on the clock;
    everything else is code."""
    kind = getattr(step, "kind", "")
    if kind in PEOPLE_KINDS or (kind == "gate" and getattr(step, "decide", None) is not None):
        return "person"
    if kind == "automation" and (getattr(step, "at", None) is not None or getattr(step, "after", None) is not None
                                 or getattr(step, "uses", None) in TIMED_USES):
        return "time"
    return "code"


class StepCatalog:
    """Each stored workflow version's steps (kind, phase, what it waits on), parsed once per
    version: a version is known by its content's hash, so the parse is kept across scrapes
    (and databases)."""

    def __init__(self) -> None:
        self._parsed: dict[str, dict[str, StepInfo] | None] = {}

    def steps(self, conn: Connection, version_ids: set[int]) -> dict[int, dict[str, StepInfo]]:
        if not version_ids:
            return {}
        hashes = dict(conn.execute(
            select(VERSIONS.c.id, VERSIONS.c.version).where(VERSIONS.c.id.in_(version_ids))).all())
        missing = [row_id for row_id, digest in hashes.items() if digest not in self._parsed]
        if missing:
            if len(self._parsed) > 512:
                self._parsed.clear()
            for digest, path, source in conn.execute(
                    select(VERSIONS.c.version, VERSIONS.c.path, VERSIONS.c.source).where(VERSIONS.c.id.in_(missing))):
                self._parsed[digest] = self._parse(path, source)
        return {row_id: found for row_id, digest in hashes.items() if (found := self._parsed.get(digest)) is not None}

    @staticmethod
    def _parse(path: str, source: str) -> dict[str, StepInfo] | None:
        try:
            loaded, _ = load_bytes(path, source.encode("utf-8"))
        except Exception:  # a stored version that no longer loads is left out, not a failed scrape
            log.warning("metrics: stored workflow version %s does not load", path, exc_info=True)
            return None
        if loaded is None:
            return None
        workflow: Workflow = loaded.workflow
        return {step.id: StepInfo(step.kind, workflow.phase_of(step.id) or "", waiting_on(step))
                for step in workflow.steps}


def seconds_between(conn: Connection, start: ColumnElement[object], end: ColumnElement[object]) -> ColumnElement[float]:
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * literal(86400.0)


class Histograms:
    """Cumulative buckets, counts and sums by label set."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0] * len(STEP_BUCKETS))
        self.count: dict[tuple[str, ...], float] = defaultdict(float)
        self.sum: dict[tuple[str, ...], float] = defaultdict(float)

    def add(self, labels: tuple[str, ...], buckets: list[float], count: float, total: float) -> None:
        mine = self.buckets[labels]
        for n, value in enumerate(buckets):
            mine[n] += value
        self.count[labels] += count
        self.sum[labels] += total

    def family(self, name: str, documentation: str, labels: list[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=labels)
        for key in sorted(self.count)[:MAX_SERIES]:
            points = [(repr(float(le)), self.buckets[key][n]) for n, le in enumerate(STEP_BUCKETS)]
            family.add_metric(list(key), [*points, ("+Inf", self.count[key])], self.sum[key])
        if len(self.count) > MAX_SERIES:
            log.warning("metrics: %s has %d label sets; %d are reported", name, len(self.count), MAX_SERIES)
        return family


def step_families(conn: Connection, catalog: StepCatalog) -> Iterator[Metric]:
    """`conductor_step_duration_seconds`, `conductor_phase_wait_seconds`,
    `conductor_step_escalation_ratio` and `conductor_shadow_agreement_ratio`."""
    took = seconds_between(conn, STEP_RUNS.c.started_at, STEP_RUNS.c.finished_at)
    took = case((took < 0, 0.0), else_=took)
    bucket_columns = [func.sum(case((took <= bound, 1), else_=0)) for bound in STEP_BUCKETS]
    rows = conn.execute(
        select(RUNS.c.workflow_id, RUNS.c.workflow_version_id, STEP_RUNS.c.step_id,
               func.count(), func.coalesce(func.sum(took), 0.0), *bucket_columns)
        .select_from(STEP_RUNS.join(RUNS, STEP_RUNS.c.run_id == RUNS.c.id))
        .where(STEP_RUNS.c.status == "completed", STEP_RUNS.c.started_at.is_not(None),
               STEP_RUNS.c.finished_at.is_not(None))
        .group_by(RUNS.c.workflow_id, RUNS.c.workflow_version_id, STEP_RUNS.c.step_id)).all()
    attempts = conn.execute(
        select(RUNS.c.workflow_id, RUNS.c.workflow_version_id, STEP_RUNS.c.step_id, func.count())
        .select_from(STEP_RUNS.join(RUNS, STEP_RUNS.c.run_id == RUNS.c.id))
        .where(STEP_RUNS.c.status.not_in(("pending", "skipped", "cancelled")))
        .group_by(RUNS.c.workflow_id, RUNS.c.workflow_version_id, STEP_RUNS.c.step_id)).all()
    escalations = {(workflow, step): count for workflow, step, count in conn.execute(
        select(RUNS.c.workflow_id, AUDIT.c.step_id, func.count())
        .select_from(AUDIT.join(RUNS, AUDIT.c.run_id == RUNS.c.id))
        .where(AUDIT.c.type == ESCALATED, AUDIT.c.step_id.is_not(None))
        .group_by(RUNS.c.workflow_id, AUDIT.c.step_id))}
    known = catalog.steps(conn, {row[1] for row in rows} | {row[1] for row in attempts})

    durations, waits = Histograms(), Histograms()
    for workflow, version, step_id, count, total, *buckets in rows:
        info = known.get(version, {}).get(step_id)
        if info is None:
            continue
        cumulative = [float(b or 0) for b in buckets]
        durations.add((workflow, step_id, info.kind), cumulative, float(count), float(total or 0))
        waits.add((workflow, info.phase, info.waiting_on), cumulative, float(count), float(total or 0))
    yield durations.family("conductor_step_duration_seconds",
                           "Time a step took from being reached to completing, by workflow, step and kind.",
                           ["workflow", "step", "kind"])
    yield waits.family("conductor_phase_wait_seconds",
                       "Time a phase waited on one of its steps, by what it waited on (person, code or time).",
                       ["workflow", "phase", "waiting_on"])

    reached: dict[tuple[str, str], int] = defaultdict(int)
    for workflow, version, step_id, count in attempts:
        info = known.get(version, {}).get(step_id)
        if info is not None and info.kind == "automation":
            reached[(workflow, step_id)] += count
    ratio = GaugeMetricFamily("conductor_step_escalation_ratio",
                              "Share of an automated step's attempts handed to people after failing (0 to 1).",
                              labels=["workflow", "step"])
    for key in sorted(reached)[:MAX_SERIES]:
        ratio.add_metric(list(key), min(escalations.get(key, 0) / reached[key], 1.0))
    yield ratio
    yield shadow_agreement(conn, catalog)


def shadow_agreement(conn: Connection, catalog: StepCatalog) -> GaugeMetricFamily:
    """Share of a shadowed step's compared runs in which the shadow agreed with the person,
    from the engine's `shadow_compared` audit rows (`agreed` true or false; a candidate never
    sent is not a comparison); no series while there is no shadow data."""
    family = GaugeMetricFamily("conductor_shadow_agreement_ratio",
                               "Share of a shadowed step's compared runs in which the shadow agreed with the person "
                               "(0 to 1).", labels=["workflow", "step"])
    agreed = AUDIT.c.payload["agreed"].as_boolean()
    rows = conn.execute(
        select(RUNS.c.workflow_id, RUNS.c.workflow_version_id, AUDIT.c.step_id, func.count(agreed),
               func.coalesce(func.sum(case((agreed.is_(true()), 1), else_=0)), 0))
        .select_from(AUDIT.join(RUNS, AUDIT.c.run_id == RUNS.c.id))
        .where(AUDIT.c.type == SHADOW_COMPARED, AUDIT.c.step_id.is_not(None))
        .group_by(RUNS.c.workflow_id, RUNS.c.workflow_version_id, AUDIT.c.step_id)).all()
    known = catalog.steps(conn, {row[1] for row in rows})
    compared: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for workflow, version, step_id, count, agreeing in rows:
        if step_id in known.get(version, {}) and count:
            compared[(workflow, step_id)][0] += int(count)
            compared[(workflow, step_id)][1] += int(agreeing or 0)
    for key in sorted(compared)[:MAX_SERIES]:
        total, agreeing = compared[key]
        family.add_metric(list(key), agreeing / total)
    return family
