"""`conductor history export --format csv`: one event per line, in the order things happened,
with time, actor and kind (person or code), the run, the step attempt and the workflow version."""

from __future__ import annotations

import json

from tests.history.helpers import blocker_runs, export, rows, version_of

COLUMNS = ["event_id", "time", "activity", "run_id", "workflow", "workflow_version", "step_id", "step_kind",
           "attempt", "actor", "actor_kind", "related", "attributes"]
# time, activity, step, step kind, attempt, actor, actor kind, related, attributes
NOTE = [
    ("2026-03-02T08:00:00Z", "run started", "", "", "", "U01EDITOR", "person", "", ""),
    ("2026-03-02T08:00:00Z", "step asked", "write", "person", "1", "", "code", "asked:U01EDITOR", ""),
    ("2026-03-02T08:30:00Z", "step reassigned", "write", "person", "1", "U01EDITOR", "person", "assigned:U02WRITER", ""),
    ("2026-03-02T09:30:00Z", "step answered", "write", "person", "1", "U02WRITER", "person", "", ""),
    ("2026-03-02T09:30:00Z", "step completed", "write", "person", "1", "U02WRITER", "person", "", ""),
    ("2026-03-02T09:30:00Z", "automation tried", "publish", "code", "1", "", "code", "", '{"try": 1}'),
    ("2026-03-02T09:30:00Z", "automation failed", "publish", "code", "1", "", "code", "",
     '{"retryable": true, "try": 1}'),
    ("2026-03-02T09:31:00Z", "automation tried", "publish", "code", "1", "", "code", "", '{"try": 2}'),
    ("2026-03-02T09:31:00Z", "automation failed", "publish", "code", "1", "", "code", "",
     '{"retryable": true, "try": 2}'),
    ("2026-03-02T09:31:00Z", "step escalated", "publish", "code", "1", "", "code", "", ""),
    ("2026-03-02T10:45:00Z", "step taken over", "publish", "code", "1", "U05OPS", "person", "", ""),
    ("2026-03-02T10:45:00Z", "step completed", "publish", "code", "1", "U05OPS", "person", "", ""),
    ("2026-03-02T10:45:00Z", "run finished", "", "", "", "", "code", "", '{"status": "completed"}'),
]
STANDUP = [
    ("2026-03-02T08:00:00Z", "run started", "", "", "", "U10LEAD", "person", "", ""),
    ("2026-03-02T08:00:00Z", "step asked", "standup", "person", "1", "", "code", "asked:U22CAR", ""),
    ("2026-03-02T09:00:00Z", "step asked", "standup", "person", "1", "", "code", "asked:U20ANA", ""),
    ("2026-03-02T09:00:00Z", "step asked", "standup", "person", "1", "", "code", "asked:U21BEN", ""),
    ("2026-03-02T09:00:00Z", "step asked", "standup", "person", "1", "", "code", "asked:U24EVE", ""),
    ("2026-03-02T09:15:00Z", "step answered", "standup", "person", "1", "U20ANA", "person", "", ""),
    ("2026-03-02T09:30:00Z", "step answered", "standup", "person", "1", "U21BEN", "person", "", ""),  # by DM
    ("2026-03-02T10:45:00Z", "step answered", "standup", "person", "1", "U22CAR", "person", "", ""),
    ("2026-03-02T11:30:00Z", "step completed", "standup", "person", "1", "", "code", "", ""),
    ("2026-03-02T11:30:00Z", "run finished", "", "", "", "", "code", "", '{"status": "completed"}'),
]


def shown(lines: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["time"], r["activity"], r["step_id"], r["step_kind"], r["attempt"], r["actor"], r["actor_kind"],
             r["related"], r["attributes"]) for r in lines]


def test_each_run_event_by_event(built):
    text = export(built, "csv", workflow_id="publish-note")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    lines = rows(text)
    assert shown(lines) == NOTE
    assert {(r["run_id"], r["workflow"], r["workflow_version"]) for r in lines} == {
        ("r-note", "publish-note", version_of(built, "publish-note"))}
    assert shown(rows(export(built, "csv", workflow_id="team-standup"))) == STANDUP


def test_every_run_in_the_order_it_happened(built):
    lines = rows(export(built, "csv"))
    ids = [r["event_id"] for r in lines]
    assert len(set(ids)) == len(ids) and all(i.startswith(("audit-", "ask-", "try-")) for i in ids)
    assert [r["time"] for r in lines] == sorted(r["time"] for r in lines)
    by_run: dict[str, list[tuple[str, ...]]] = {}
    for line in lines:
        by_run.setdefault(line["run_id"], []).append(shown([line])[0])
    first, second = blocker_runs(built)  # the two blockers raised, each a run owned by the lead
    blocker = [
        ("2026-03-02T11:30:00Z", "run started", "", "", "", "", "code", "", ""),
        ("2026-03-02T11:30:00Z", "step asked", "unblock", "person", "1", "", "code", "asked:U10LEAD", ""),
    ]
    assert by_run == {"r-standup": STANDUP, "r-note": NOTE, first: blocker, second: blocker}


def test_since_counts_from_the_start_of_each_run(built):
    assert rows(export(built, "csv", since="1h")) == []
    assert len(rows(export(built, "csv", since="2d"))) == len(NOTE) + len(STANDUP) + 4


def test_values_and_errors_only_with_include_private(built):
    public = export(built, "csv")
    for text in ("s3cr3t", "503", "confidential", "Quarterly note", "notes.example.com", "Shipped the importer"):
        assert text not in public
    private = {(r["run_id"], r["activity"], r["attributes"]) for r in rows(export(built, "csv", include_private=True))}
    assert ("r-note", "automation failed",
            json.dumps({"error": "CMS answered 503 for token s3cr3t", "retryable": True, "try": 1},
                       sort_keys=True)) in private
    assert ("r-note", "run started", '{"inputs": "{\\"title\\": \\"Quarterly note\\"}"}') in private
    assert ("r-note", "step answered", '{"outputs": "{\\"body\\": \\"Revenue grew 12% (confidential)\\"}"}') in private
    assert ("r-standup", "step answered",
            '{"answers": "{\\"blockers\\": \\"Waiting on API keys from IT\\", '
            '\\"yesterday\\": \\"Shipped the importer\\"}"}') in private
