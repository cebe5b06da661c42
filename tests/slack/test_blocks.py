"""Block Kit rendering: every message kind the engine writes and every view, built from runs of
the example workflows, checked against slack_sdk's models and Slack's limits; escaping of what
people and automations write; forms read back into the values they were filled with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.definitions.fields import FieldSpec
from bot.definitions.loader import load_paths
from bot.definitions.steps import ApprovalStep, AutomationStep, StandupStep, TaskStep
from bot.engine import events as ev
from bot.engine.effects import Message
from bot.engine.handoff import check_outputs
from bot.engine.messages import UnknownMessageKind
from bot.engine.permissions import StaticDirectory
from bot.engine.queries import AttentionItem, RunSummary, WaitingItem
from bot.slack.blocks import (
    DIAGNOSE_FIELDS,
    REASSIGN_FIELDS,
    REJECT_FIELDS,
    HeaderInfo,
    diagnose_form,
    header_info,
    parse_action_value,
    parse_form_values,
    parse_metadata,
    reassign_form,
    reject_form,
    render_header,
    render_home,
    render_message,
    render_outbox,
    standup_fields,
    standup_form,
    start_form,
    step_form,
)
from bot.slack.blocks import actions as a
from bot.slack.blocks import text as t
from bot.slack.blocks.messages import KINDS
from tests.engine.table import Fire, Run, workflow

WORKFLOWS = {wid: loaded.workflow for wid, loaded in load_paths(["workflows"]).workflows.items()}
DIRECTORY = StaticDirectory({
    "S01WRITERS": ["U02WRITER"], "S02SUCCESS": ["U04LEAD"], "S07TEAM": ["UANN", "UBEN", "UCAT"],
})
# What a person might type to ping a channel or someone else, or to hide a link.
INJECTION = "Hi <!channel> & <@U123> <!here> <https://evil.example|click>"
LIVE = ("<!channel>", "<!here>", "<@U123>", "<https://evil")
TITLES = {wid: wf.title for wid, wf in WORKFLOWS.items()}


# --- checking what Slack would accept ------------------------------------------------------------
def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert 1 <= len(blocks) <= max_blocks
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), block_ids
    for block in blocks:
        assert Block.parse(block).to_dict() == block, block
        ids = [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
        assert len(ids) == len(set(ids)), f"action ids repeat within a block: {ids}"
        for node in _walk(block):
            if node.get("type") in ("mrkdwn", "plain_text"):
                assert 1 <= len(node["text"]) <= t.SECTION_TEXT
            if node.get("type") == "button":
                assert len(node["text"]["text"]) <= t.BUTTON_TEXT and len(node.get("value", "")) <= t.BUTTON_VALUE
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= t.HEADER_TEXT


def check_message(message: dict[str, Any]) -> dict[str, Any]:
    assert set(message) == {"text", "blocks"}
    assert isinstance(message["text"], str) and message["text"].strip() and len(message["text"]) <= t.FALLBACK_TEXT
    check_blocks(message["blocks"], t.MESSAGE_BLOCKS)
    return message


def check_view(view: dict[str, Any]) -> dict[str, Any]:
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict() == view
    check_blocks(view["blocks"], t.VIEW_BLOCKS)
    if view["type"] == "modal":
        for key in ("title", "submit", "close"):
            assert key not in view or len(view[key]["text"]) <= t.MODAL_TITLE
        for block in view["blocks"]:
            if block["type"] == "input":
                assert len(block["label"]["text"]) <= t.INPUT_LABEL
                assert len(block["element"].get("placeholder", {}).get("text", "")) <= t.PLACEHOLDER
        assert len(view.get("private_metadata", "")) <= t.PRIVATE_METADATA
    return view


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message["blocks"]:
        found += [e for e in block.get("elements", []) + [block.get("accessory") or {}] if e.get("type") == "button"]
    return found


def dump(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def shown_mrkdwn(view: dict[str, Any]) -> str:
    """Every mrkdwn text of a view (plain text and what inputs hold are never parsed for mentions)."""
    return "\n".join(node["text"] for node in _walk(view["blocks"]) if node.get("type") == "mrkdwn")


# --- realistic payloads: runs of the example workflows through the engine ------------------------
def payloads_of(run: Run) -> list[dict[str, Any]]:
    """Messages among the last effects, as `write_effects` puts them in the outbox."""
    return [{**e.to_payload(), "run_id": run.state.run_id, "workflow_id": run.workflow.id}
            for e in run.effects if isinstance(e, Message)]


def _accepted(run: Run, event: Any, found: list[dict[str, Any]]) -> None:
    outcome = run.send(event)
    assert not hasattr(outcome, "code"), outcome
    found.extend(payloads_of(run))


def _blog(found: list[dict[str, Any]]) -> Run:
    run = Run(WORKFLOWS["blog-article"], actor="U01EDITOR", directory=DIRECTORY, run_id="run-blog",
              inputs={"title": INJECTION, "writer": "U02WRITER"})
    found.extend(payloads_of(run))
    _accepted(run, ev.Answer("brief", "U01EDITOR", {"angle": INJECTION, "keywords": ["workflow"]}), found)
    _accepted(run, ev.AskForHelp("draft", "U02WRITER"), found)
    _accepted(run, Fire("reminder", "draft"), found)
    _accepted(run, Fire("deadline", "draft"), found)
    _accepted(run, ev.Answer("draft", "U02WRITER", {"doc_url": "https://docs.example.com/1", "word_count": 1500}), found)
    _accepted(run, ev.Answer("edit", "U01EDITOR", {"notes": INJECTION}), found)
    _accepted(run, ev.Reject("approve", "U01EDITOR", INJECTION), found)
    _accepted(run, ev.Reassign("draft", "U01EDITOR", "U05OTHER"), found)
    _accepted(run, ev.Answer("draft", "U05OTHER", {"doc_url": "https://docs.example.com/2", "word_count": 1400}), found)
    _accepted(run, ev.Answer("edit", "U01EDITOR", {}), found)
    _accepted(run, ev.Approve("approve", "U01EDITOR"), found)
    tail = "\n".join(f"line {n}: ok" for n in range(60)) + "\nTraceback: ``` " + INJECTION
    _accepted(run, ev.AutomationFailed("seo", 1, 1, "CMS said " + INJECTION, retryable=False, output_tail=tail), found)
    _accepted(run, ev.Abort("U01EDITOR", INJECTION), found)
    return run


def _onboarding(found: list[dict[str, Any]]) -> Run:
    run = Run(WORKFLOWS["client-onboarding"], actor="U04LEAD", directory=DIRECTORY, run_id="run-onb",
              inputs={"company": "Acme", "plan": "enterprise", "seats": 500, "contact": "a@acme.io"})
    found.extend(payloads_of(run))
    _accepted(run, ev.Answer("assign_manager", "U04LEAD", {"manager": "U09MGR"}), found)
    _accepted(run, ev.Answer("kickoff", "U09MGR", {"requirements": "SSO later", "integrations": ["api"],
                                                   "kickoff_date": "2024-06-10"}), found)
    return run


SMALL = """
id: small
name: Two approvals and a post
roles: {board: [UBOB, UCAROL]}
steps:
  - {id: sign, approvers: [board], min_approvals: 2, prompt: "Sign {{ inputs.what }}"}
  - {id: tell, uses: conductor/post, with: {channel: "#news", text: "Signed: {{ inputs.what }}"}}
inputs: {what: string}
"""


def _small(found: list[dict[str, Any]]) -> Run:
    run = Run(workflow(SMALL), actor="UBOB", directory=DIRECTORY, run_id="run-small", inputs={"what": INJECTION})
    found.extend(payloads_of(run))
    _accepted(run, ev.Approve("sign", "UBOB"), found)
    _accepted(run, ev.Approve("sign", "UCAROL"), found)
    return run


def _standup(found: list[dict[str, Any]]) -> Run:
    run = Run(WORKFLOWS["daily-standup"], actor="U10LEAD", directory=DIRECTORY, run_id="run-standup")
    found.extend(payloads_of(run))
    _accepted(run, ev.StandupAnswer("standup", "UANN", {"yesterday": "Shipped <!channel>", "today": "Docs",
                                                        "blockers": "Waiting on <@U123> for access"}), found)
    _accepted(run, ev.StandupAnswer("standup", "UBEN", {"yesterday": "Tests", "today": "Review"}), found)
    _accepted(run, Fire("close", "standup"), found)
    return run


@pytest.fixture(scope="module")
def payloads() -> dict[str, list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    for scenario in (_blog, _onboarding, _small, _standup):
        scenario(found)
    # Written when a participant answers the stand-up by DM, one question at a time.
    for kind, text in (("standup_question", "Anything blocking you? <!channel>"), ("standup_thanks", "")):
        found.append({"kind": kind, "run_id": "run-standup", "workflow_id": "daily-standup", "step_id": "standup",
                      "to": ["UANN"], "text": text, "data": {"title": "Stand-up"}})
    # As the previous release wrote it (the service, by hand), with a title to escape.
    found.append({"kind": "help_requested", "run_id": "run-blog", "workflow_id": "blog-article", "step_id": "draft",
                  "to": ["U01EDITOR"], "text": "", "data": {"title": "Draft <!channel>", "actor": "U02WRITER"}})
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for payload in found:
        by_kind.setdefault(payload["kind"], []).append(payload)
    return by_kind


def rendered(payload: dict[str, Any]) -> dict[str, Any]:
    return check_message(render_message(payload, workflow_title=TITLES.get(payload["workflow_id"])))


# --- messages -------------------------------------------------------------------------------------
def test_the_runs_write_every_message_kind(payloads):
    assert set(KINDS) - {"header"} <= set(payloads), set(KINDS) - set(payloads)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "header"])
def test_every_kind_renders_valid_blocks_with_a_fallback_and_no_live_injection(payloads, kind):
    for payload in payloads[kind]:
        message = rendered(payload)
        text = dump(message)
        assert not any(live in text for live in LIVE), text
        for principal in payload["to"]:
            assert t.mention(principal) in text


def test_person_steps_mention_who_acts_and_carry_buttons_naming_run_and_step(payloads):
    ask = rendered(payloads["ask"][0])
    assert "<@U01EDITOR>" in ask["blocks"][0]["text"]["text"]
    assert [b["action_id"] for b in buttons(ask)] == [a.SUBMIT, a.REASSIGN, a.HELP]
    assert {json.dumps(parse_action_value(b["value"])) for b in buttons(ask)} == {
        json.dumps({"run_id": "run-blog", "step_id": "brief"})}
    approval = rendered(payloads["approval_request"][0])
    assert [(b["action_id"], b.get("style")) for b in buttons(approval)] == [(a.APPROVE, "primary"), (a.REJECT, "danger")]
    reassigned = next(p for p in payloads["ask"] if p["data"].get("reassigned_by"))
    message = rendered(reassigned)
    assert "<@U05OTHER>" in dump(message) and "Reassigned by <@U01EDITOR>" in dump(message)


def test_a_decision_has_one_button_per_choice_carrying_the_choice(payloads):
    payload = payloads["decision_request"][0]
    message = rendered(payload)
    found = buttons(message)
    assert [b["text"]["text"] for b in found] == payload["data"]["options"]
    assert all(b["action_id"] == a.DECIDE for b in found)
    assert [parse_action_value(b["value"])["choice"] for b in found] == payload["data"]["options"]
    assert all(parse_action_value(b["value"])["step_id"] == "setup_path" for b in found)


def test_an_escalation_shows_run_step_error_and_output_with_its_four_actions(payloads):
    message = rendered(payloads["escalation"][0])
    text = dump(message)
    assert message["blocks"][0]["type"] == "header"
    assert "run-blog" in text and "SEO metadata" in text and "CMS said" in text
    code = next(b for b in message["blocks"] if "```" in b.get("text", {}).get("text", ""))["text"]["text"]
    assert "line 59: ok" in code and "line 0: ok" not in code and code.count("```") == 2
    found = buttons(message)
    assert [b["action_id"] for b in found] == [a.RETRY, a.SKIP, a.TAKE_OVER, a.ABORT]
    abort = found[-1]
    assert abort["style"] == "danger" and abort["confirm"]["confirm"]["text"] == "Abort run"


def test_the_standup_prompt_and_summary(payloads):
    prompts = payloads["standup_prompt"]
    assert sorted(p["to"][0] for p in prompts) == ["UANN", "UBEN", "UCAT"]
    assert [b["action_id"] for b in buttons(rendered(prompts[0]))] == [a.STANDUP_ANSWER]
    summary = rendered(payloads["standup_summary"][0])
    sections = [b["text"]["text"] for b in summary["blocks"] if b["type"] == "section"]
    blockers = [s for s in sections if s.startswith(":construction: *Blockers*")]
    assert blockers and "<@UANN>" in blockers[0] and "&lt;@U123&gt;" in blockers[0]
    people = [s for s in sections if s.startswith("*<@")]
    assert [s.split("*")[1] for s in people] == ["<@UANN>", "<@UBEN>"]
    assert ":construction:" in people[0] and ":construction:" not in people[1]
    assert any("No answer from <@UCAT>" in dump(b) for b in summary["blocks"] if b["type"] == "context")


def test_the_thread_lines_say_what_happened(payloads):
    assert "rejected" in dump(rendered(payloads["rejected"][0])) and "`draft`" in dump(rendered(payloads["rejected"][0]))
    assert "1 of 2 approvals" in dump(rendered(payloads["approval_progress"][0]))
    assert "Reminder" in dump(rendered(payloads["reminder"][0]))
    assert "overdue" in dump(rendered(payloads["overdue"][0]))
    finished = [rendered(p) for p in payloads["run_finished"]]
    assert any("failed" in m["text"] for m in finished) and any("complete" in m["text"] for m in finished)
    post = rendered(payloads["post"][0])
    assert "Signed: Hi &lt;!channel&gt;" in post["blocks"][0]["text"]["text"]


def test_a_skip_by_a_person_names_them_once_and_quotes_a_reason_they_give():
    base = {"title": "Publish", "status": "skipped", "actor": "U01EDITOR"}
    plain = render_message(_payload("step_finished", data={**base, "reason": "skipped by <@U01EDITOR>"}))
    assert [b["type"] for b in check_message(plain)["blocks"]] == ["section"]
    assert "skipped by <@U01EDITOR>" in plain["blocks"][0]["text"]["text"]
    given = render_message(_payload("step_finished", data={**base, "reason": "CMS down <!channel>"}))
    assert given["blocks"][1]["text"]["text"] == ">CMS down &lt;!channel&gt;"


def test_the_run_started_message_becomes_the_header_when_the_run_is_known():
    found: list[dict[str, Any]] = []
    run = _small(found)
    started = next(p for p in found if p["kind"] == "run_started")
    assert render_outbox(started) == render_message(started)
    header = check_message(render_outbox(started, {"workflow": run.workflow, "state": run.state}))
    assert header["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Two approvals and a post"}}


def test_a_bare_header_renders_and_an_unknown_kind_is_an_error():
    check_message(render_message({"kind": "header", "run_id": "r", "workflow_id": "w"}))
    for unknown in ({"kind": "something_new", "run_id": "r", "workflow_id": "w", "text": "<!channel>"}, {},
                    {"kind": ["ask"]}):
        with pytest.raises(UnknownMessageKind):
            render_message(unknown)
        with pytest.raises(UnknownMessageKind):
            render_outbox(unknown)


# --- text -------------------------------------------------------------------------------------------
def test_escape_and_mentions():
    assert t.escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert t.mention("U01EDITOR") == "<@U01EDITOR>" and t.mention("W0ABC") == "<@W0ABC>"
    assert t.mention("S01WRITERS") == "<!subteam^S01WRITERS>" and t.mention("*") == "everyone"
    assert t.mention("<!channel>") == "&lt;!channel&gt;"
    assert t.mentions(["U1AA", "S2BB", "*"]) == "<@U1AA>, <!subteam^S2BB> and everyone"


def test_truncation_keeps_limits_and_never_splits_an_entity_or_mention():
    assert t.truncate("x" * 100, t.BUTTON_TEXT) == "x" * 74 + "…"
    assert len(t.modal_title("Assign an onboarding manager")) == t.MODAL_TITLE
    assert len(t.label("y" * 500)) == t.PLAIN_LABEL and t.truncate("short", 10) == "short"
    cut = t.truncate_mrkdwn("a" * 2990 + t.escape("<<<<") + "b" * 50)
    assert len(cut) <= t.SECTION_TEXT and cut.endswith("…") and not cut[:-1].endswith(("&", "&l", "&lt"))
    cut = t.truncate_mrkdwn("a" * 2995 + "<@U01EDITOR>")
    assert "<@" not in cut
    pieces = t.split_mrkdwn(t.escape("<" * 5000))
    assert all(len(p) <= t.SECTION_TEXT and p.startswith("&lt;") and p.endswith("&lt;") for p in pieces)


# --- oversized inputs ---------------------------------------------------------------------------
def _payload(kind: str, **over: Any) -> dict[str, Any]:
    return {"kind": kind, "run_id": "r" * 40, "workflow_id": "w", "step_id": "s", "to": ["U01EDITOR"], "text": "",
            "data": {}, **over}


@pytest.mark.parametrize("payload", [
    _payload("ask", text="<!channel> " * 5000, data={"title": "T" * 500, "fields": [f"f{n}" for n in range(300)]}),
    _payload("approval_request", text="word " * 20000, data={"title": "T" * 500}),
    _payload("decision_request", data={"title": "Pick", "options": [f"{n} " + "o" * 300 for n in range(80)]}),
    _payload("decision_request", data={"title": "Pick", "options": ["x" * 2500, "short"]}),
    _payload("escalation", data={"title": "T" * 500, "error": "e<>" * 5000, "output_tail": ("```<!here>\n" * 9000),
                                 "tries": 3, "fields": ["a"] * 50}),
    _payload("standup_summary", data={
        "answers": {f"U{n:04d}AA": {"did": "x" * 900, "block": "<!channel> " * 300} for n in range(200)},
        "questions": {"did": "Q" * 400, "block": "Blocked?"}, "blockers": ["block"],
        "missing": [f"U{n:04d}BB" for n in range(400)]}),
    _payload("post", text="<b>" * 40000),
    _payload("standup_prompt", text="p" * 10000, data={"questions": ["a"] * 30}),
    _payload("rejected", data={"title": "T" * 4000, "reason": "r" * 9000, "actor": "U01EDITOR", "back_to": "x" * 500}),
    _payload("run_finished", data={"status": "failed", "reason": "r" * 9000}),
    _payload("reminder", to=[f"U{n:04d}AA" for n in range(600)], data={"title": "T" * 4000, "number": 2}),
], ids=lambda p: p["kind"])
def test_oversized_messages_stay_within_slack_limits(payload):
    message = check_message(render_message(payload, workflow_title="W" * 400))
    assert "<!channel>" not in dump(message) and "<!here>" not in dump(message)


def test_oversized_summary_says_how_many_people_were_left_out():
    payload = _payload("standup_summary", data={"answers": {f"U{n:04d}AA": {"q": "a"} for n in range(120)},
                                                "questions": {"q": "Q"}, "blockers": [], "missing": []})
    message = check_message(render_message(payload))
    assert "more people answered" in message["blocks"][-1]["elements"][0]["text"]


# --- the header ---------------------------------------------------------------------------------
def test_header_from_a_run_in_progress():
    found: list[dict[str, Any]] = []
    run = Run(WORKFLOWS["blog-article"], actor="U01EDITOR", directory=DIRECTORY, run_id="run-h",
              inputs={"title": INJECTION, "writer": "U02WRITER"})
    _accepted(run, ev.Answer("brief", "U01EDITOR", {"angle": "a", "keywords": ["k"]}), found)
    info = header_info(run.workflow, run.state, "run-h")
    assert info.phase == "Create" and info.progress == "1 of 7 steps done"
    assert info.waiting_on == (("Draft the article", ("U02WRITER",)),)
    message = check_message(render_header(info))
    text = dump(message)
    assert "Blog article" in text and "run-h" in text and "<@U02WRITER>" in text and "*Create*" in text
    assert message == render_header("Blog article", "run-h", info)
    via_outbox = render_outbox({"kind": "header", "run_id": "run-h", "workflow_id": "blog-article"},
                               {"workflow": run.workflow, "state": run.state})
    assert via_outbox == message


def test_header_of_a_finished_run_and_an_oversized_one():
    found: list[dict[str, Any]] = []
    run = _onboarding(found)
    _accepted(run, ev.Cancel("U04LEAD", INJECTION), found)
    message = check_message(render_header(header_info(run.workflow, run.state)))
    assert "Cancelled" in dump(message) and "<!channel>" not in dump(message)
    huge = HeaderInfo(title="T" * 500, run_id="r" * 200, status="waiting", phase="P" * 300,
                      phases=tuple(f"phase {n}" * 20 for n in range(60)),
                      steps=tuple((f"step {n} <!here>" * 10, "waiting_on_person") for n in range(300)),
                      waiting_on=tuple((f"s{n}", (f"U{n:04d}AA",)) for n in range(300)), started_by="U01EDITOR")
    assert "<!here>" not in dump(check_message(render_header(huge)))
    escalated = HeaderInfo(title="T", run_id="r", status="waiting", steps=(("SEO", "completed"), ("Publish", "escalated")))
    assert "failed automation" in dump(check_message(render_header(escalated)))
    assert escalated.progress == "1 of 2 steps done"


# --- forms ------------------------------------------------------------------------------------------
def fake_state_from(view: dict[str, Any], typed: dict[str, str] | None = None) -> dict[str, Any]:
    """`view.state.values` as Slack sends it when the form is submitted as shown (or with
    `typed` text in some text inputs)."""
    typed = typed or {}
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        e = block["element"]
        kind = e["type"]
        if kind in ("plain_text_input", "url_text_input", "number_input"):
            entry = {"value": typed.get(block["block_id"], e.get("initial_value"))}
        else:
            key, initial, empty = {
                "datepicker": ("selected_date", "initial_date", None),
                "datetimepicker": ("selected_date_time", "initial_date_time", None),
                "static_select": ("selected_option", "initial_option", None),
                "radio_buttons": ("selected_option", "initial_option", None),
                "multi_static_select": ("selected_options", "initial_options", []),
                "checkboxes": ("selected_options", "initial_options", []),
                "users_select": ("selected_user", "initial_user", None),
                "multi_users_select": ("selected_users", "initial_users", []),
                "conversations_select": ("selected_conversation", "initial_conversation", None),
                "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
            }[kind]
            entry = {key: e.get(initial, empty)}
        values[block["block_id"]] = {e["action_id"]: {"type": kind, **entry}}
    return values


EVERY_TYPE: dict[str, tuple[FieldSpec, Any]] = {
    "name": (FieldSpec(type="string", max=40), "Ada <!channel>"),
    "notes": (FieldSpec(type="text"), "line one\nline <@U123> two"),
    "price": (FieldSpec(type="number", min=0), 12.5),
    "whole_price": (FieldSpec(type="number"), 12),
    "count": (FieldSpec(type="integer", min=1, max=10), 7),
    "agreed": (FieldSpec(type="boolean"), True),
    "declined": (FieldSpec(type="boolean"), False),
    "due": (FieldSpec(type="date"), "2026-03-02"),
    "meeting": (FieldSpec(type="datetime"), "2026-03-02T09:30:00+00:00"),
    "size": (FieldSpec(type="enum", options=["small", "large", "x" * 200]), "x" * 200),
    "owner": (FieldSpec(type="user"), "U01EDITOR"),
    "room": (FieldSpec(type="channel"), "C0123ABCD"),
    "link": (FieldSpec(type="url"), "https://docs.example.com/a?b=1&c=2"),
    "tags": (FieldSpec(type="list", items="string"), ["alpha", "beta gamma"]),
    "scores": (FieldSpec(type="list", items="number"), [1.5, 2]),
    "counts": (FieldSpec(type="list", items="integer", max=5), [1, 2, 3]),
    "dates": (FieldSpec(type="list", items="date"), ["2026-01-01", "2026-02-01"]),
    "channels": (FieldSpec(type="list", items="enum", options=["email", "social", "ads"], max=2), ["email", "ads"]),
    "people": (FieldSpec(type="list", items="user"), ["U01EDITOR", "U02WRITER"]),
    "rooms": (FieldSpec(type="list", items="channel"), ["C0123ABCD", "G0456EFGH"]),
    "links": (FieldSpec(type="list", items="url"), ["https://a.example", "https://b.example"]),
}


def test_a_form_of_every_field_type_reads_back_the_values_it_shows():
    fields = {name: spec for name, (spec, _) in EVERY_TYPE.items()}
    values = {name: value for name, (_, value) in EVERY_TYPE.items()}
    view = check_view(step_form("run1", "draft", "Every type", fields, initial=values, prompt=INJECTION))
    assert "&lt;!channel&gt;" in shown_mrkdwn(view) and not any(live in shown_mrkdwn(view) for live in LIVE)
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert {n: e["type"] for n, e in elements.items()} == {
        "name": "plain_text_input", "notes": "plain_text_input", "price": "number_input",
        "whole_price": "number_input", "count": "number_input", "agreed": "checkboxes", "declined": "checkboxes",
        "due": "datepicker", "meeting": "datetimepicker", "size": "static_select", "owner": "users_select",
        "room": "conversations_select", "link": "url_text_input", "tags": "plain_text_input",
        "scores": "plain_text_input", "counts": "plain_text_input", "dates": "plain_text_input",
        "channels": "multi_static_select", "people": "multi_users_select", "rooms": "multi_conversations_select",
        "links": "plain_text_input",
    }
    assert elements["notes"]["multiline"] and elements["price"]["is_decimal_allowed"]
    assert not elements["count"]["is_decimal_allowed"] and elements["count"]["max_value"] == "10"
    bounded = step_form("r", "s", "Bounds", {"n": FieldSpec(type="integer", min=0.5, max=9.5)})
    assert {k: bounded["blocks"][1]["element"][k] for k in ("min_value", "max_value")} == {"min_value": "1", "max_value": "9"}
    assert all(b["element"]["action_id"] == "value" for b in view["blocks"] if b["type"] == "input")
    assert parse_metadata(view["private_metadata"]) == {"run_id": "run1", "step_id": "draft"}
    parsed = parse_form_values(fake_state_from(view), fields)
    assert parsed == values
    assert check_outputs(fields, parsed)[0] is not None


def test_an_empty_form_leaves_optional_fields_out_and_says_no_for_a_checkbox():
    fields = {name: spec for name, (spec, _) in EVERY_TYPE.items()}
    view = check_view(step_form("run1", "s", "Empty", fields))
    assert parse_form_values(fake_state_from(view), fields) == {"agreed": False, "declined": False}
    assert all(b.get("optional") for b in view["blocks"] if b.get("block_id") in ("agreed", "declined"))
    assert not any(b.get("optional") for b in view["blocks"] if b.get("block_id") == "name")


@pytest.mark.parametrize("wid", sorted(WORKFLOWS))
def test_forms_for_every_example_workflow(wid):
    wf = WORKFLOWS[wid]
    start = check_view(start_form(wf.id, wf.title, wf.inputs))
    assert [b["block_id"] for b in start["blocks"] if b["type"] == "input"] == list(wf.inputs)
    for step in wf.steps:
        if isinstance(step, (TaskStep, ApprovalStep, AutomationStep)):
            callback = a.TAKE_OVER_FORM if isinstance(step, AutomationStep) else a.STEP_FORM
            view = check_view(step_form("run1", step.id, step.title, step.outputs, callback_id=callback))
            assert view["callback_id"] == callback
            assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == list(step.outputs)
        if isinstance(step, StandupStep):
            fields = standup_fields(step.questions)
            answers = {"yesterday": "Shipped", "today": "Docs", "blockers": "Access <!here>"}
            view = check_view(standup_form(step.questions, run_id="run1", step_id=step.id, initial=answers))
            assert parse_form_values(fake_state_from(view), fields) == answers
            assert check_outputs(fields, answers)[0] is not None


def test_start_form_asks_only_what_is_missing():
    wf = WORKFLOWS["client-onboarding"]
    view = check_view(start_form(wf.id, wf.title, wf.inputs, given={"company": "Acme", "seats": 20}))
    asked = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert asked == ["plan", "contact", "needs_security_review"]
    assert parse_metadata(view["private_metadata"]) == {"workflow_id": wf.id, "given": {"company": "Acme", "seats": 20}}
    everything = check_view(start_form(wf.id, wf.title, {}, given={}))
    assert everything["submit"]["text"] == "Start"


def test_reject_reassign_and_diagnose_forms_read_back():
    reject = check_view(reject_form("run1", "approve", "Approve for publishing"))
    assert reject["callback_id"] == a.REJECT_FORM
    reason = "Needs a stronger ending <!channel>"
    assert parse_form_values(fake_state_from(reject, {"reason": reason}), REJECT_FIELDS) == {"reason": reason}
    assert [b["element"].get("multiline") for b in reject["blocks"] if b["type"] == "input"] == [True]
    reassign = check_view(reassign_form("run1", "draft", "Draft the article"))
    state = fake_state_from(reassign)
    state["assignee"]["value"]["selected_user"] = "U05OTHER"
    assert parse_form_values(state, REASSIGN_FIELDS) == {"assignee": "U05OTHER"}
    answers = {"subjective": True, "variable": False, "repetitive": True, "consistency_critical": False}
    diagnose = check_view(diagnose_form(initial=answers))
    assert {b["element"]["type"] for b in diagnose["blocks"] if b["type"] == "input"} == {"radio_buttons"}
    assert parse_form_values(fake_state_from(diagnose), DIAGNOSE_FIELDS) == answers
    assert parse_form_values(fake_state_from(check_view(diagnose_form())), DIAGNOSE_FIELDS) == {}


def test_oversized_forms_stay_within_slack_limits():
    fields = {f"field_{n}": FieldSpec(type="string", label="L" * 3000, help="H" * 3000) for n in range(150)}
    view = check_view(step_form("r" * 500, "s" * 500, "Assign an onboarding manager", fields, prompt="p" * 20000))
    assert view["title"]["text"] == "Assign an onboarding ma…"
    assert "Not shown here" in dump(view["blocks"][-1])
    many = FieldSpec(type="enum", options=[f"option {n} " + "o" * 200 for n in range(150)])
    check_view(step_form("r", "s", "Many options", {"pick": many}))
    with pytest.raises(ValueError):
        start_form("w", "W", {}, given={"text": "x" * 4000})


# --- the App Home -----------------------------------------------------------------------------
NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def _summary(n: int, phase: str | None) -> RunSummary:
    return RunSummary(f"run-{n}", "blog-article", "Blog article", "waiting", phase, "U01EDITOR",
                      NOW, ("Draft the article", f"Edit <!channel> {n}"))


def test_home_shows_waiting_items_with_their_buttons_the_board_and_attention():
    waiting = [
        WaitingItem("run-1", "blog-article", "draft", "Draft the article", "task", NOW - timedelta(days=1), True),
        WaitingItem("run-2", "blog-article", "approve", "Approve <!channel>", "approval", NOW, False),
        WaitingItem("run-3", "client-onboarding", "setup_path", "Standard or custom?", "gate", None, False),
        WaitingItem("run-4", "daily-standup", "standup", "Stand-up", "standup", NOW, False),
    ]
    board = {"blog-article": {"Brief": [_summary(1, "Brief")], "Create": [_summary(2, "Create"), _summary(3, "Create")],
                              "Review": [], "Approve": [], "Publish": []},
             "daily-standup": {"": [_summary(4, None)]}}
    attention = [AttentionItem("run-5", "blog-article", "seo", "SEO metadata", "CMS said <@U123>", "escalated"),
                 AttentionItem("run-6", "blog-article", None, "blog-article", "aborted", "failed")]
    home = check_view(render_home(waiting, board, attention))
    assert home["type"] == "home"
    ids = [b["action_id"] for b in buttons(home)]
    assert ids == [a.SUBMIT, a.APPROVE, a.REJECT, a.DECIDE, a.STANDUP_ANSWER, a.RETRY, a.SKIP, a.TAKE_OVER, a.ABORT]
    text = shown_mrkdwn(home)
    assert "*Create* (2)" in text and "run-3" in text and "No phase" in text and "overdue" in text
    assert not any(live in text for live in LIVE)
    assert [b["text"]["text"] for b in home["blocks"] if b["type"] == "header"] == [
        "Waiting on you", "Runs by phase", "Needs attention"]


def test_an_empty_home_and_an_oversized_one():
    check_view(render_home([], {}, []))
    waiting = [WaitingItem(f"run-{n}", "w", "s", "T" * 400, "approval", NOW, n % 2 == 0) for n in range(300)]
    board = {f"wf-{w}": {f"phase {p}" * 10: [_summary(n, "p") for n in range(30)] for p in range(14)} for w in range(60)}
    attention = [AttentionItem(f"run-{n}", "w", "s", "T", "e" * 5000, "escalated") for n in range(200)]
    home = check_view(render_home(waiting, board, attention))
    more = [b["elements"][0]["text"] for b in home["blocks"] if b["type"] == "context"]
    assert any("more waiting on you" in m for m in more)
    assert any("more workflows" in m for m in more)
    assert any("more need attention" in m for m in more)
