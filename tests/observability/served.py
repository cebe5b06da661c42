"""The real app served over HTTP with `/metrics` reading the test's database, a scraper that
parses the exposition with Prometheus' own parser, and log capture through `configure_logging`."""

from __future__ import annotations

import io
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.parser import text_string_to_metric_families

from bot.observability.logs import configure_logging
from bot.runtime import Runtime
from bot.settings import Settings
from tests.polling import wait_for  # noqa: F401 (the tests here import it from this module)
from tests.slack.live import running_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@contextmanager
def app_with_metrics(settings: Settings) -> Iterator[tuple[str, str, Runtime]]:
    """Yields (Slack events URL, base URL, runtime), as `conductor serve` wires them."""
    with running_app(settings) as (url, runtime):
        yield url, url.removesuffix("/slack/events"), runtime


def scrape(base: str) -> Samples:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("conductor_") and family.documentation, family.name
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series is not there (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def captured_logs(settings: Settings) -> Iterator[io.StringIO]:
    """Everything logged while the block runs, as `configure_logging(settings)` writes it."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging(settings, stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
