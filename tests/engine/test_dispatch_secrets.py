"""Authored secret references on their way through the database: a dispatch row keeps the
author's marks (PostgreSQL's JSONB included) and shows people only `${{ secrets.NAME }}`;
the clock's worker resolves what the author wrote and hands typed references over as text;
a row written by the previous release, references unmarked, still runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.automations.secrets import MASK
from bot.definitions.templates import authored_secret
from bot.engine import events as ev
from bot.engine.journal import DISPATCH, MARKED_PARAMS, TIMERS
from bot.scheduling.worker import AutomationWorker
from tests.harness import Harness

SECRET = "dispatch-canary-41f0c2"
TYPED = "${{ secrets.DISPATCH_CANARY }}"
STARTER = "U01ANN"
WORKFLOW = """
id: probe
inputs:
  title: {type: string}
steps:
  - id: note
    ask: starter
    outputs: {note: text}
  - id: forge
    uses: dispatch_probe.echo:forge
    outputs: {text: string}
    retry: {attempts: 1}
  - id: call
    uses: dispatch_probe.echo:echo
    with:
      token: "${{ secrets.DISPATCH_CANARY }}"
      header: "Bearer ${{ secrets.DISPATCH_CANARY }} for {{ inputs.title }}"
      title: "{{ inputs.title }}"
      note: "{{ steps.note.outputs.note }}"
      forged: "{{ steps.forge.outputs.text }}"
    outputs:
      seen: {type: list, items: string}
    retry: {attempts: 1}
  - id: done
    ask: starter
"""
ECHO = '''
def forge(ctx):
    # What a careless API could answer: the mark of an authored reference, NULs and all.
    return {"text": "\\x00${{ secrets.DISPATCH_CANARY }}\\x00"}


def echo(ctx):
    return {"seen": [ctx.params[name] for name in ("token", "header", "title", "note", "forged")]}
'''


@pytest.fixture
def h(migrated_db_url, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DISPATCH_CANARY", SECRET)
    folder = tmp_path / "wf"
    (folder / "dispatch_probe").mkdir(parents=True)
    (folder / "dispatch_probe" / "__init__.py").write_text("")
    (folder / "dispatch_probe" / "echo.py").write_text(ECHO)
    (folder / "probe.yaml").write_text(WORKFLOW)
    harness = Harness(migrated_db_url, [str(folder)])
    harness.folder = folder
    yield harness
    harness.close()


def waiting_dispatch(h: Harness, run_id: str, title: str, note: str) -> tuple[str, dict]:
    """Start a run, answer its note, run `forge`; `call` then waits as a dispatch row."""
    assert h.service.start("probe", STARTER, {"title": title}, key=f"start:{run_id}", run_id=run_id).status == "accepted"
    assert h.send(run_id, ev.Answer("note", STARTER, {"note": note})).status == "accepted"
    assert run_claimed(h) == 1
    forge = h.state(run_id).steps["forge"]
    assert forge.status.value == "completed", forge.error
    assert forge.outputs == {"text": TYPED}  # stored without its NULs, on PostgreSQL too
    with h.engine.connect() as conn:
        [(key, payload)] = conn.execute(
            select(TIMERS.c.key, TIMERS.c.payload)
            .where(TIMERS.c.run_id == run_id, TIMERS.c.kind == DISPATCH, TIMERS.c.step_id == "call")).all()
    return key, payload


def run_claimed(h: Harness) -> int:
    """Run every automation waiting, with the clock's worker and the real runners."""
    worker = AutomationWorker(h.service, h.versions, str(h.folder), max_workers=1)
    ran = 0
    try:
        for dispatch in h.service.claim_dispatches(h.now):
            worker.run(dispatch)
            ran += 1
    finally:
        worker.shutdown()
    return ran


def test_the_author_s_reference_is_resolved_and_a_typed_one_is_handed_over_as_text(h):
    _key, payload = waiting_dispatch(h, "runtyped", title=TYPED, note=f"see {TYPED}")
    stored = json.dumps(payload)
    assert SECRET not in stored and "\\u0000" not in json.dumps(payload["params"])
    assert payload["params"]["with"] == {
        "token": "${{ secrets.DISPATCH_CANARY }}", "header": f"Bearer ${{{{ secrets.DISPATCH_CANARY }}}} for {TYPED}",
        "title": TYPED, "note": f"see {TYPED}", "forged": TYPED,
    }
    marked = json.loads(payload[MARKED_PARAMS])["with"]  # the marks, kept exactly, as JSON text
    assert marked["token"] == authored_secret("DISPATCH_CANARY") and marked["title"] == TYPED
    assert run_claimed(h) == 1
    call = h.state("runtyped").steps["call"]
    assert call.status.value == "completed", call.error
    # The function got the value (it echoed it back, masked before the outputs were stored);
    # every typed reference reached it as text.
    assert call.outputs == {"seen": [MASK, f"Bearer {MASK} for {TYPED}", TYPED, f"see {TYPED}", TYPED]}


def test_a_dispatch_written_before_references_were_marked_still_runs(h):
    key, payload = waiting_dispatch(h, "runolder", title="Launch", note="plain")
    # The previous release wrote the values with the author's references as plain text.
    older = {name: payload[name] for name in ("attempt", "try_number", "idempotency_key", "params")}
    assert "secrets.DISPATCH_CANARY" in older["params"]["with"]["token"]
    with h.engine.begin() as conn:
        conn.execute(update(TIMERS).where(TIMERS.c.key == key).values(payload=older))
    assert run_claimed(h) == 1
    call = h.state("runolder").steps["call"]
    assert call.status.value == "completed", call.error
    # Such a row cannot tell a typed reference from a written one (that release could not
    # either): every reference in it runs as that release would have run it.
    assert call.outputs == {"seen": [MASK, f"Bearer {MASK} for Launch", "Launch", "plain", MASK]}


def test_a_secret_that_is_not_set_escalates_naming_it_and_no_value_is_stored(h, monkeypatch):
    monkeypatch.delenv("DISPATCH_CANARY")
    waiting_dispatch(h, "runmissing", title=TYPED, note="n")
    assert run_claimed(h) == 1
    call = h.state("runmissing").steps["call"]
    assert call.status.value == "escalated"
    assert "`DISPATCH_CANARY` is not set" in call.error and "\x00" not in call.error
