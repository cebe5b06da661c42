"""`conductor history export --format ocel`: an OCEL 2.0 JSON log, valid against the standard's
JSON schema (tests/history/ocel2-schema.json), with runs, step attempts, people and workflow
versions as objects, and each event related to those it involves."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import jsonschema

from tests.history.helpers import blocker_runs, export, version_of

SCHEMA = json.loads((Path(__file__).parent / "ocel2-schema.json").read_text(encoding="utf-8"))


def log_of(h, **options):
    log = json.loads(export(h, "ocel", **options))
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    return log


def test_the_log_is_valid_ocel_2(built):
    for options in ({}, {"include_private": True}, {"workflow_id": "publish-note"}, {"since": "1h"}):
        log = log_of(built, **options)
        ids = [o["id"] for o in log["objects"]]
        assert len(ids) == len(set(ids))
        for item in log["events"] + log["objects"]:  # every relationship names an object of the log
            assert {r["objectId"] for r in item.get("relationships", [])} <= set(ids)
        for event in log["events"]:
            assert event["time"].endswith("Z") and datetime.fromisoformat(event["time"])
        declared = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in log["eventTypes"]}
        for event in log["events"]:  # each event's attributes are declared with its type
            assert {a["name"] for a in event["attributes"]} <= set(declared[event["type"]])
        kinds = {t["name"] for t in log["objectTypes"]}
        assert kinds == {"run", "step", "person", "workflow version"}
        assert {o["type"] for o in log["objects"]} <= kinds


def test_objects_and_their_relationships(built):
    log = log_of(built, workflow_id="publish-note")
    version = version_of(built, "publish-note")
    assert [(o["id"], o["type"]) for o in log["objects"]] == [
        ("r-note", "run"), ("r-note/publish/1", "step"), ("r-note/write/1", "step"), (version, "workflow version"),
        ("U01EDITOR", "person"), ("U02WRITER", "person"), ("U05OPS", "person"),
    ]
    objects = {o["id"]: o for o in log["objects"]}
    assert objects["r-note"]["attributes"] == [
        {"name": "workflow", "time": "2026-03-02T08:00:00Z", "value": "publish-note"},
        {"name": "status", "time": "2026-03-02T10:45:00Z", "value": "completed"},
    ]
    assert objects["r-note"]["relationships"] == [{"objectId": version, "qualifier": "runs on"},
                                                  {"objectId": "U01EDITOR", "qualifier": "started by"}]
    assert objects["r-note/publish/1"]["attributes"] == [
        {"name": "step", "time": "2026-03-02T09:30:00Z", "value": "publish"},
        {"name": "kind", "time": "2026-03-02T09:30:00Z", "value": "code"},
        {"name": "attempt", "time": "2026-03-02T09:30:00Z", "value": 1},
    ]
    assert objects["r-note/publish/1"]["relationships"] == [{"objectId": "r-note", "qualifier": "part of"}]
    assert objects[version]["attributes"][0] == {"name": "workflow", "time": "2026-03-02T08:00:00Z",
                                                 "value": "publish-note"}


def test_events_with_their_objects(built):
    log = log_of(built, workflow_id="publish-note")
    version = version_of(built, "publish-note")
    assert [e["type"] for e in log["events"]] == [
        "run started", "step asked", "step reassigned", "step answered", "step completed", "automation tried",
        "automation failed", "automation tried", "automation failed", "step escalated", "step taken over",
        "step completed", "run finished"]
    taken = next(e for e in log["events"] if e["type"] == "step taken over")
    assert taken["time"] == "2026-03-02T10:45:00Z"
    assert taken["attributes"] == [{"name": "actor_kind", "value": "person"}]
    assert taken["relationships"] == [
        {"objectId": "r-note", "qualifier": "run"}, {"objectId": version, "qualifier": "workflow version"},
        {"objectId": "r-note/publish/1", "qualifier": "step"}, {"objectId": "U05OPS", "qualifier": "actor"}]
    reassigned = next(e for e in log["events"] if e["type"] == "step reassigned")
    assert reassigned["relationships"][-2:] == [{"objectId": "U01EDITOR", "qualifier": "actor"},
                                                {"objectId": "U02WRITER", "qualifier": "assigned"}]
    failed = [e for e in log["events"] if e["type"] == "automation failed"]
    assert [e["attributes"] for e in failed] == [
        [{"name": "actor_kind", "value": "code"}, {"name": "try", "value": n}, {"name": "retryable", "value": True}]
        for n in (1, 2)]
    types = {t["name"]: t["attributes"] for t in log["eventTypes"]}
    assert types["automation failed"] == [{"name": "actor_kind", "type": "string"}, {"name": "try", "type": "integer"},
                                          {"name": "retryable", "type": "boolean"}]


def test_the_whole_history_names_each_person_once(built):
    log = log_of(built)
    people = [o["id"] for o in log["objects"] if o["type"] == "person"]
    assert people == ["U01EDITOR", "U02WRITER", "U05OPS", "U10LEAD", "U20ANA", "U21BEN", "U22CAR", "U24EVE"]
    runs = [o["id"] for o in log["objects"] if o["type"] == "run"]
    assert sorted(runs) == sorted(["r-standup", "r-note", *blocker_runs(built)])


def test_inputs_and_errors_only_with_include_private(built):
    public = export(built, "ocel")
    assert "Quarterly note" not in public and "s3cr3t" not in public
    log = log_of(built, include_private=True, workflow_id="publish-note")
    run = next(o for o in log["objects"] if o["id"] == "r-note")
    assert {"name": "input.title", "time": "2026-03-02T08:00:00Z", "value": "Quarterly note"} in run["attributes"]
    failed = next(e for e in log["events"] if e["type"] == "automation failed")
    assert {"name": "error", "value": "CMS answered 503 for token s3cr3t"} in failed["attributes"]


def test_the_schema_has_teeth(built):
    log = json.loads(export(built, "ocel", workflow_id="publish-note"))
    validator = jsonschema.Draft7Validator(SCHEMA)
    for broken in ({**log, "events": [{k: v for k, v in log["events"][0].items() if k != "time"}]},
                   {k: v for k, v in log.items() if k != "objectTypes"},
                   {**log, "objects": [{**log["objects"][0], "attributes": [{"name": "status", "value": "x"}]}]}):
        assert not validator.is_valid(broken)
