"""Text from Slack stays data. Shell metacharacters, Jinja, SQL and Block Kit / mrkdwn
markup, given as a command argument, a thread reply and a form answer, flow through a
command step (argv), a Python step, templates (prompts, a post) and the database, and come
back out in Slack messages: each automation receives the literal text as one argument, no
shell runs, `{{ 7*7 }}` stays text, the tables stay, and nothing posted pings or links."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from sqlalchemy import text

from bot.engine import events as ev
from bot.engine.service import ConductorService
from bot.scheduling.worker import AutomationWorker
from bot.slack.blocks import actions as a
from bot.slack.blocks.outbox import render_outbox
from bot.slack.blocks.text import escape as slack_escape
from bot.slack.client import make_client
from bot.slack.messenger import Messenger
from tests.hostile.conftest import STARTER, Live
from tests.hostile.payloads import message, text_value, view_submission

# Markup that would ping, link or format if it reached Slack unescaped.
MARKUP = ["<!channel>", "<!here>", "<@U0EVIL>", "<!subteam^S0EVIL>", "<http://evil.example|click>", "<#C0EVIL>"]
BLOCK_JSON = '"}]}, {"type": "image", "image_url": "http://evil.example/x.png", "alt_text": "x"}, {"text": "'


def hostile_lines(marker: Path) -> list[str]:
    return [
        f"; touch {marker}", f"$(touch {marker})", f"`touch {marker}`", f"| touch {marker}", f"&& touch {marker} &",
        "; rm -rf / --no-preserve-root", "{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ config }}", "{{ run.id }}",
        "'; DROP TABLE runs; --", "\" OR 1=1; --", "*bold* _it_ ~strike~ `code` ```block```", BLOCK_JSON,
        *MARKUP, "&amp; &lt; &gt; & < >",
    ]


def slack_typed(text_: str) -> str:
    """Text as Slack sends what a person typed: `&`, `<` and `>` as entities."""
    return slack_escape(text_)


def deliver(live: Live) -> Messenger:
    messenger = Messenger(live.runtime.engine, make_client(live.runtime.settings), live.runtime.versions,
                          render=render_outbox, rate=1000, burst=1000)
    for _ in range(50):
        messenger.deliver_due()
        if not live.scalar("select count(*) from outbox where status in ('pending', 'sending')"):
            return messenger
    raise AssertionError("the outbox was not delivered")


def run_automations(live: Live) -> int:
    """Run what the engine asks, with the real runners, as the clock would; how many ran."""
    service: ConductorService = live.runtime.service
    worker = AutomationWorker(service, live.runtime.versions, str(live.folder), max_workers=1)
    ran = 0
    try:
        while claimed := service.claim_dispatches(service.clock()):
            for dispatch in claimed:
                worker.run(dispatch)
                ran += 1
    finally:
        worker.shutdown()
    return ran


def test_hostile_text_stays_data_from_slack_to_code_templates_database_and_back(live: Live, tmp_path: Path):
    marker = tmp_path / "a-shell-ran"
    lines = hostile_lines(marker)
    title = " ".join(lines[:8] + lines[11:13] + lines[15:17])  # one line: titles are strings
    note = "\n".join(lines)
    summary = " ".join(reversed(lines[8:]))
    tried = {"command argument": len(lines[:8] + lines[11:13] + lines[15:17]), "thread reply": len(lines),
             "form answer": len(lines[8:])}

    # A command argument: Slack sends the text escaped; the start reads it back exactly.
    status, _ = live.command("start hostile title=" + shlex.quote(slack_typed(title)))
    assert status == 200
    live.idle()
    run_id = live.scalar("select id from runs")
    assert run_id, live.said_to(STARTER)
    assert live.state(run_id).inputs["title"] == title
    deliver(live)
    channel, thread = live.scalar("select channel from runs"), live.scalar("select thread_ts from runs")
    assert thread

    # A thread reply answers the note.
    status, _, _ = _post_event(live, message(STARTER, slack_typed(note), "EvNote", channel=channel, thread_ts=thread))
    assert status == 200
    live.idle()
    assert live.state(run_id).steps["note"].outputs == {"note": note}

    # A form answer: `{{ 7*7 }}` is not an integer, and is said so in the form.
    meta = {"run_id": run_id, "step_id": "details"}
    status, answer = live.interactive(view_submission(STARTER, a.STEP_FORM, meta, {
        "summary": text_value(summary), "count": {"value": {"type": "number_input", "value": "{{ 7*7 }}"}}}, view_id="V1"))
    assert status == 200 and "count" in json.loads(answer)["errors"]
    status, answer = live.interactive(view_submission(STARTER, a.STEP_FORM, meta, {
        "summary": text_value(summary), "count": {"value": {"type": "number_input", "value": "3"}}}, view_id="V2"))
    assert status == 200 and not answer.strip()
    assert live.state(run_id).steps["details"].outputs == {"summary": summary, "count": 3}

    # Automations: argv arrives as three literal arguments, the Python step sees the same text.
    assert run_automations(live) == 2
    steps = live.state(run_id).steps
    assert steps["argv_probe"].outputs == {"argv": [title, note, summary]}, steps["argv_probe"]
    assert steps["python_probe"].outputs == {"seen": [title, note, summary]}
    assert not marker.exists(), "a shell ran"
    assert steps["announce"].status.value == "completed"

    # Templates rendered the text as data: the prompts carry it verbatim, `{{ 7*7 }}` not 49.
    payloads = [p if isinstance(p, dict) else json.loads(p)
                for p in _all(live, "select payload from outbox order by id")]
    asked = {p.get("step_id"): p for p in payloads if p.get("kind") == "ask"}
    assert asked["note"]["text"] == f"Write a note about {title}"
    assert asked["details"]["text"] == f"Details for {title}: you wrote {note}"
    posted = [p for p in payloads if p.get("kind") == "post"]
    assert posted and posted[0]["text"] == f"Title: {title} / note: {note} / summary: {summary}"
    assert "49" not in posted[0]["text"]

    # The database: every table is there, the text stored as given.
    for table in ("runs", "step_runs", "audit_events", "outbox", "timers", "inbound_events", "workflow_versions"):
        assert live.scalar(f"select count(*) from {table}") >= 0
    assert live.scalar("select count(*) from runs") == 1

    # Slack: every message posted shows the markup as text, never as markup.
    deliver(live)
    messages = [c.params for c in live.fake.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")]
    shown = json.dumps(messages)
    assert "&lt;!channel&gt;" in shown and "&lt;@U0EVIL&gt;" in shown  # the hostile text did reach Slack
    for markup in MARKUP:
        assert markup not in shown and markup.replace('"', '\\"') not in shown, markup
    block_types = {b.get("type") for m in messages for b in _blocks(m)}
    assert "image" not in block_types, block_types
    assert live.logs.errors() == []
    print(f"injection: {sum(tried.values())} hostile strings ({tried}), {len(messages)} Slack messages checked")


def test_hostile_command_arguments_are_answered_as_text(live: Live):
    lines = hostile_lines(Path("/nonexistent/marker"))
    for line in lines:
        for verb in ("status", "cancel", "board", "start", "standup pause", "away"):
            status, _ = live.command(f"{verb} {shlex.quote(slack_typed(line))}")
            assert status == 200
    live.idle()
    answers = live.said_to(STARTER)
    assert len(answers) == len(lines) * 6
    shown = json.dumps(answers)
    for markup in MARKUP:
        assert markup not in shown, markup
    assert live.scalar("select count(*) from runs") == 0
    assert live.logs.errors() == []
    print(f"command arguments: {len(lines) * 6} hostile commands answered as text")


def _post_event(live: Live, payload: dict):
    from tests.slack.signed import event

    return event(live.url, payload)


def _all(live: Live, sql: str) -> list:
    with live.runtime.engine.connect() as conn:
        return list(conn.execute(text(sql)).scalars())


def _blocks(params: dict) -> list[dict]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def test_a_secret_reference_typed_by_a_person_stays_text(live: Live, monkeypatch):
    """`${{ secrets.NAME }}` is only a reference where the YAML writes it; typed into Slack it
    is text, and the automation must receive it as typed, never the secret's value."""
    monkeypatch.setenv("HOSTILE_CANARY", "the-canary-value")
    typed = "${{ secrets.HOSTILE_CANARY }}"
    run_id = live.start(inputs={"title": typed})
    live.runtime.service.handle(run_id, ev.Answer("note", STARTER, {"note": typed}))
    live.runtime.service.handle(run_id, ev.Answer("details", STARTER, {"summary": typed, "count": 1}))
    run_automations(live)
    steps = live.state(run_id).steps
    assert steps["python_probe"].outputs == {"seen": [typed, typed, typed]}
    assert steps["argv_probe"].outputs == {"argv": [typed, typed, typed]}
