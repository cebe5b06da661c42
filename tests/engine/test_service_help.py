"""The "Need help" button through the durable service: one outbox note and one audit row, claimed once by
its key like any event, refused (and audited) for a step that is not in progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine import events as ev
from bot.engine import refusals
from bot.store.models import AuditEvent, OutboxMessage
from tests.harness import Harness

OUTBOX, AUDIT = OutboxMessage.__table__, AuditEvent.__table__

WORKFLOW = """
id: help
conductor: leads
roles: {leads: [U01LEAD]}
steps:
  - {id: write, ask: starter, outputs: {text: text}}
  - {id: check, ask: starter}
"""


@pytest.fixture
def h(migrated_db_url, tmp_path: Path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "help.yaml").write_text(WORKFLOW)
    harness = Harness(migrated_db_url, [str(folder)])
    yield harness
    harness.close()


def rows(h: Harness, table, run_id: str) -> list:
    """The run's rows of `table`, oldest first (JSON columns read as JSON on every database)."""
    with h.engine.connect() as conn:
        return list(conn.execute(select(table).where(table.c.run_id == run_id).order_by(table.c.id)))


def test_help_is_a_note_in_the_thread_and_an_audit_row_once(h):
    run = h.start("help", "U02ANN").run_id
    before = h.state(run)
    written = len(rows(h, OUTBOX, run))
    first = h.service.ask_for_help(run, "write", "U02ANN", key="slack:help:1")
    again = h.service.ask_for_help(run, "write", "U02ANN", key="slack:help:1")
    assert (first.status, again.status) == ("accepted", "duplicate")
    new = rows(h, OUTBOX, run)[written:]
    assert len(new) == 1  # the note alone: the header has nothing new to show
    assert new[0].thread_key == run and new[0].kind == "post"
    payload = new[0].payload
    assert payload["kind"] == "help_requested" and (payload["step_id"], payload["to"], payload["data"]) == (
        "write", ["U01LEAD"], {"title": "write", "actor": "U02ANN"})
    audited = [a.type for a in rows(h, AUDIT, run)]
    assert audited.count("help_requested") == 1 and audited[-1] == "help_requested"
    after = h.state(run)
    assert after.seq == before.seq + 1 and {**after.to_json(), "seq": before.seq} == before.to_json()


def test_help_for_a_step_not_in_progress_is_refused_and_audited(h):
    run = h.start("help", "U02ANN").run_id
    refused = h.service.ask_for_help(run, "check", "U02ANN", key="slack:help:2")
    assert (refused.status, refused.code) == ("refused", "not_waiting")
    assert isinstance(refused.refusal, refusals.NotInProgress) and refused.reason == refused.refusal.text
    assert [a.payload["code"] for a in rows(h, AUDIT, run) if a.type == "refused"] == ["not_waiting"]
    unknown = h.service.ask_for_help("nosuchrun", "write", "U02ANN")
    assert isinstance(unknown.refusal, refusals.UnknownRun) and unknown.code == "unknown_run"
    assert h.service.handle(run, ev.Answer("write", "U02ANN", {"text": "done"}), key="a").accepted
    assert h.service.ask_for_help(run, "check", "U02ANN", key="slack:help:3").accepted
