"""Metrics: the process's own counters and histograms, and the `/metrics` scrape.

What only this process can see (Slack's 429s, how fast it acknowledged Slack, how long its
automations took) lives in a small registry here; what the database knows is read at scrape
time by `DatabaseCollector`. Series of several processes add up in Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import Metric
from sqlalchemy import Engine

from bot.observability.database import DatabaseCollector

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)

# Slack allows 3 s for an acknowledgement; the buckets resolve the milliseconds we aim for.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# Automations range from a quick call to a long command (the default timeout is 5 minutes).
AUTOMATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

SLACK_RATELIMITED = Counter(
    "conductor_slack_ratelimited", "Slack Web API calls answered with 429 (rate limited), by API method.",
    ["method"], registry=PROCESS_REGISTRY,
)
SLACK_ACK_SECONDS = Histogram(
    "conductor_slack_ack_seconds", "Time to answer Slack's requests to POST /slack/events, by HTTP status.",
    ["status"], buckets=ACK_BUCKETS, registry=PROCESS_REGISTRY,
)
AUTOMATION_SECONDS = Histogram(
    "conductor_automation_duration_seconds",
    "Time one try of an automation took, by workflow, kind (python, command, http) and outcome (ok, failed).",
    ["workflow", "kind", "outcome"], buckets=AUTOMATION_BUCKETS, registry=PROCESS_REGISTRY,
)

_METHOD = re.compile(r"[A-Za-z]+(?:\.[A-Za-z]+)+")


def count_slack_ratelimited(method: str) -> None:
    """Count one 429 from Slack. `method` is the API method (`chat.postMessage`) or the URL
    that was called; anything else is counted as `other`, so labels stay few."""
    name = (method or "").rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    SLACK_RATELIMITED.labels(method=name if _METHOD.fullmatch(name) else "other").inc()


def observe_slack_ack(status: str, seconds: float) -> None:
    SLACK_ACK_SECONDS.labels(status=status).observe(seconds)


def observe_automation(workflow: str, kind: str, ok: bool, seconds: float) -> None:
    AUTOMATION_SECONDS.labels(workflow=workflow, kind=kind, outcome="ok" if ok else "failed").observe(seconds)


class _Scrape:
    """This process's registry followed by the database's figures (what `generate_latest` reads)."""

    def __init__(self, engine: Engine | None):
        self.database = DatabaseCollector(engine) if engine is not None else None

    def collect(self) -> Iterator[Metric]:
        # The database first: work is counted here before its result is committed (see the
        # worker), so whatever the database shows done is already in this process's figures.
        if self.database is not None:
            yield from self.database.collect()
        yield from PROCESS_REGISTRY.collect()


def scrape(engine: Engine | None) -> tuple[bytes, str]:
    """The body and content type of `GET /metrics` (database figures when `engine` is given)."""
    return generate_latest(_Scrape(engine)), CONTENT_TYPE_LATEST  # type: ignore[arg-type]


def serve_metrics(port: int, engine: Engine | None, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve `GET /metrics` on a port of its own, on a daemon thread: for `conductor clock`,
    which serves nothing else but runs the automations and delivers the outbox."""
    server, _ = start_http_server(port, addr, registry=_Scrape(engine))  # type: ignore[arg-type]
    return server
