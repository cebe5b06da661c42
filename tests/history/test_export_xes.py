"""`conductor history export --format xes`: XML with one trace per run, the standard
extensions (concept, time, org, lifecycle) declared, each event named, timed, with its resource
and lifecycle transition. Read back with xml.etree."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from tests.history.helpers import blocker_runs, export

NS = {"x": "http://www.xes-standard.org/"}


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def attrs(element: ET.Element) -> dict[str, str]:
    return {child.get("key", ""): child.get("value", "") for child in element if child.get("key")}


def test_the_log_declares_the_standard_extensions(built):
    log = parse(export(built, "xes"))
    assert log.tag == "{http://www.xes-standard.org/}log" and log.get("xes.version") == "1849-2016"
    assert [(e.get("name"), e.get("prefix"), e.get("uri")) for e in log.findall("x:extension", NS)] == [
        ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
        ("Time", "time", "http://www.xes-standard.org/time.xesext"),
        ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
        ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ]
    assert [g.get("scope") for g in log.findall("x:global", NS)] == ["trace", "event"]
    assert [c.get("keys") for c in log.findall("x:classifier", NS)] == ["concept:name",
                                                                       "concept:name lifecycle:transition"]
    traces = [attrs(t)["concept:name"] for t in log.findall("x:trace", NS)]
    assert sorted(traces) == sorted(["r-standup", "r-note", *blocker_runs(built)])


def test_a_run_is_a_trace_of_its_events(built):
    log = parse(export(built, "xes", workflow_id="publish-note"))
    (trace,) = log.findall("x:trace", NS)
    assert {k: v for k, v in attrs(trace).items() if k != "workflow_version"} == {
        "concept:name": "r-note", "workflow": "publish-note", "status": "completed"}
    events = [attrs(e) for e in trace.findall("x:event", NS)]
    assert [(e["concept:name"], e["time:timestamp"], e["org:resource"], e["lifecycle:transition"]) for e in events] == [
        ("run started", "2026-03-02T08:00:00.000+00:00", "U01EDITOR", "start"),
        ("step asked", "2026-03-02T08:00:00.000+00:00", "conductor", "assign"),
        ("step reassigned", "2026-03-02T08:30:00.000+00:00", "U01EDITOR", "reassign"),
        ("step answered", "2026-03-02T09:30:00.000+00:00", "U02WRITER", "complete"),
        ("step completed", "2026-03-02T09:30:00.000+00:00", "U02WRITER", "complete"),
        ("automation tried", "2026-03-02T09:30:00.000+00:00", "conductor", "start"),
        ("automation failed", "2026-03-02T09:30:00.000+00:00", "conductor", "ate_abort"),
        ("automation tried", "2026-03-02T09:31:00.000+00:00", "conductor", "start"),
        ("automation failed", "2026-03-02T09:31:00.000+00:00", "conductor", "ate_abort"),
        ("step escalated", "2026-03-02T09:31:00.000+00:00", "conductor", "suspend"),
        ("step taken over", "2026-03-02T10:45:00.000+00:00", "U05OPS", "resume"),
        ("step completed", "2026-03-02T10:45:00.000+00:00", "U05OPS", "complete"),
        ("run finished", "2026-03-02T10:45:00.000+00:00", "conductor", "complete"),
    ]
    assert events[1]["asked"] == "U01EDITOR" and events[2]["assigned"] == "U02WRITER"
    assert [e["actor_kind"] for e in events[9:11]] == ["code", "person"]
    assert (events[10]["step"], events[10]["step_kind"], events[10]["attempt"]) == ("publish", "code", "1")
    failed = trace.findall("x:event", NS)[6]
    assert [(c.tag.split("}")[1], c.get("key"), c.get("value")) for c in failed][-2:] == [
        ("int", "try", "1"), ("boolean", "retryable", "true")]
    assert failed.find("x:date", NS).get("key") == "time:timestamp"


def test_errors_only_with_include_private(built):
    assert "s3cr3t" not in export(built, "xes")
    log = parse(export(built, "xes", workflow_id="publish-note", include_private=True))
    failed = attrs(log.findall("x:trace/x:event", NS)[6])
    assert failed["error"] == "CMS answered 503 for token s3cr3t"
