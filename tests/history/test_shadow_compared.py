"""A shadow's comparison, when a release records one (audit `shadow_compared`), is an event of
its step: how it came out (`status`, `agreed`) is the process; what was compared is private."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.db import session_scope
from bot.store.models import AuditEvent
from tests.history.helpers import export, rows


def test_a_shadow_comparison_is_an_event_of_its_step(built):
    with session_scope(built.sessions) as session:
        session.add(AuditEvent(run_id="r-note", step_id="write", actor=None, type="shadow_compared",
                               payload={"attempt": 1, "status": "ok", "agreed": False, "fields": {"body": False}},
                               at=datetime(2026, 3, 2, 9, 30, 30, tzinfo=UTC)))
    (line,) = [r for r in rows(export(built, "csv", workflow_id="publish-note")) if r["activity"] == "shadow compared"]
    assert (line["time"], line["step_id"], line["attempt"], line["actor_kind"], line["attributes"]) == (
        "2026-03-02T09:30:30Z", "write", "1", "code", '{"agreed": false, "status": "ok"}')
    (private,) = [r for r in rows(export(built, "csv", workflow_id="publish-note", include_private=True))
                  if r["activity"] == "shadow compared"]
    assert private["attributes"] == '{"agreed": false, "fields": "{\\"body\\": false}", "status": "ok"}'
