"""The Grafana dashboard (`deploy/grafana/conductor.json`) parses, and every metric its PromQL
names is one `GET /metrics` of a real served app describes, with labels that metric has."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakeslack import FakeSlack
from tests.observability.served import app_with_metrics
from tests.observability.test_step_metrics import WORKFLOW, finish_a_run
from tests.slack.live import slack_settings

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "conductor.json"
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",), "gauge": ("",), "summary": ("_sum", "_count")}
NAME = re.compile(r"\b(conductor_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b(conductor_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")


def expressions(dashboard: dict) -> list[str]:
    found = []
    for panel in dashboard["panels"]:
        found += [target["expr"] for target in panel.get("targets", [])]
        for inner in panel.get("panels", []):
            found += [target["expr"] for target in inner.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture
def exposed(migrated_db_url, tmp_path) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(sample name -> family type, sample name -> label names seen) from a real scrape of an
    app that has finished a run."""
    with FakeSlack() as fake:
        settings = slack_settings(migrated_db_url, tmp_path / "wf", fake, {"review.yaml": WORKFLOW})
        with app_with_metrics(settings) as (url, base, runtime):
            finish_a_run(url, runtime, settings)
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
                body = response.read().decode()
    types: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        for suffix in SUFFIXES.get(family.type, ("",)):
            types[family.name + suffix] = family.type
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return types, labels


def test_the_dashboard_parses_and_has_panels(dashboard):
    assert dashboard["title"] == "Conductor" and dashboard["uid"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 10
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "workflow"} <= variables


def test_every_metric_the_dashboard_names_exists(dashboard, exposed):
    types, labels = exposed
    named = {name for expr in expressions(dashboard) for name in NAME.findall(expr)}
    assert named, "the dashboard names no metric"
    assert sorted(named - set(types)) == []
    # The new figures are all on the dashboard.
    for family in ("conductor_step_duration_seconds_bucket", "conductor_phase_wait_seconds_sum",
                   "conductor_step_escalation_ratio", "conductor_shadow_agreement_ratio"):
        assert family in named, family


def test_every_label_the_dashboard_uses_is_one_the_metric_has(dashboard, exposed):
    _, labels = exposed
    for expr in expressions(dashboard):
        for name, matchers in SELECTOR.findall(expr):
            if name not in labels:  # described, no series yet (a counter never incremented)
                continue
            used = set(MATCHER.findall(matchers))
            assert used <= labels[name], f"{name}: {sorted(used - labels[name])} in {expr}"
        names = set(NAME.findall(expr))
        seen = set().union(*(labels.get(n, set()) for n in names)) if names else set()
        if not seen:
            continue
        for grouping in GROUPING.findall(expr):
            used = {g.strip() for g in grouping.split(",") if g.strip()}
            assert used <= seen | {"le"}, f"{sorted(used - seen)} in {expr}"
