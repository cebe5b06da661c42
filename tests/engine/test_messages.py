"""Messages as outbox JSON: each kind round-trips, rows written by the previous release read
back as the same typed message, odd values read as empty ones, and an unknown kind is an error."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, get_args

import pytest

from bot.engine.messages import (
    BY_KIND,
    MESSAGE_CLASSES,
    ApprovalProgress,
    ApprovalRequest,
    AskPerson,
    DecisionRequest,
    Escalated,
    Escalation,
    HelpRequested,
    Message,
    Overdue,
    Post,
    Rejected,
    Reminder,
    RunFinished,
    RunStarted,
    StandupPrompt,
    StandupQuestion,
    StandupSummary,
    StandupThanks,
    StepFinished,
    UnknownMessageKind,
    message_from_payload,
)

# One of each kind, every field given something other than its default.
SAMPLES: list[Message] = [
    RunStarted(to=("U01ANN",), workflow="Blog article"),
    RunFinished(status="failed", reason="aborted", actor="U01ANN"),
    StepFinished(step_id="draft", title="Draft", status="skipped", actor="U01ANN", reason="not needed"),
    Post(destination="channel", step_id="tell", text="*Spring* is out", channel="#news"),
    AskPerson(step_id="draft", to=("U02BOB",), title="Draft", text="Write it", fields=("doc_url", "words"),
              reassigned_by="U01ANN"),
    ApprovalRequest(step_id="approve", to=("U01ANN", "S01LEADS"), title="Approve", text="Look", fields=("note",)),
    DecisionRequest(step_id="path", to=("U01ANN",), title="Which way?", text="Pick", options=("Standard", "Custom"),
                    reassigned_by="U03CAT"),
    ApprovalProgress(step_id="sign", approvals=("U01ANN",), needed=2),
    Rejected(step_id="approve", title="Approve", actor="U01ANN", reason="too long", back_to="draft"),
    Reminder(destination="dm", step_id="standup", to=("U02BOB",), title="Stand-up", number=2,
             closes="2026-03-02T10:00:00+00:00"),
    Overdue(step_id="draft", to=("U01ANN",), title="Draft", due="2d"),
    HelpRequested(step_id="draft", to=("U01ANN",), title="Draft", actor="U02BOB"),
    Escalation(step_id="publish", to=("S02OPS",), title="Publish", error="401", output_tail="trace", tries=3,
               fields=("url",), actions=("retry", "abort")),
    Escalated(step_id="publish", title="Publish", error="401"),
    StandupPrompt(step_id="standup", to=("U02BOB",), title="Stand-up", text="Morning", questions=("done", "next"),
                  closes="2026-03-02T10:00:00+00:00", first_question="What did you finish?"),
    StandupQuestion(step_id="standup", to=("U02BOB",), title="Stand-up", text="Anything blocking you?",
                    question="blockers"),
    StandupThanks(step_id="standup", to=("U02BOB",), title="Stand-up"),
    StandupSummary(step_id="standup", answers={"U02BOB": {"done": "Docs", "blockers": "none"}}, missing=("U03CAT",),
                   late=("U02BOB",), away=("U04DAN",), questions={"done": "Done?", "blockers": "Blocked?"},
                   blockers=("blockers",)),
]


def test_the_samples_cover_every_message_class_once():
    assert sorted(type(m).__name__ for m in SAMPLES) == sorted(cls.__name__ for cls in get_args(Message))
    assert set(BY_KIND) == {cls.kind for cls in MESSAGE_CLASSES} and len(BY_KIND) == len(MESSAGE_CLASSES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.kind)
def test_a_message_round_trips_through_outbox_json(message: Message):
    payload = json.loads(json.dumps(message.to_payload()))
    assert message_from_payload({**payload, "run_id": "r", "workflow_id": "w"}) == message


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.kind)
def test_the_payload_keeps_the_shape_every_release_reads(message: Message):
    payload = message.to_payload()
    assert set(payload) == {"kind", "destination", "step_id", "to", "text", "data"}
    own = {f.name for f in fields(message)} - {"destination", "step_id", "to", "text"}
    assert set(payload["data"]) == own
    assert payload["kind"] == message.kind and payload["to"] == list(message.to)


# Payloads exactly as the previous release's engine (and, for help, its service) wrote them.
PREVIOUS_RELEASE: list[tuple[dict[str, Any], Message]] = [
    ({"kind": "run_started", "step_id": None, "to": ["U01ANN"], "text": "", "data": {"workflow": "Blog"}},
     RunStarted(to=("U01ANN",), workflow="Blog")),
    ({"kind": "ask", "step_id": "draft", "to": ["U02BOB"], "text": "Write it", "data": {"title": "Draft", "fields": ["x"]}},
     AskPerson(step_id="draft", to=("U02BOB",), title="Draft", text="Write it", fields=("x",))),
    ({"kind": "ask", "step_id": "draft", "to": ["U05EVE"], "text": "",
      "data": {"title": "Draft", "reassigned_by": "U01ANN", "fields": ["x"]}},
     AskPerson(step_id="draft", to=("U05EVE",), title="Draft", fields=("x",), reassigned_by="U01ANN")),
    ({"kind": "decision_request", "step_id": "path", "to": ["U01ANN"], "text": "",
      "data": {"title": "Path", "options": ["A", "B"], "reassigned_by": "U03CAT"}},
     DecisionRequest(step_id="path", to=("U01ANN",), title="Path", options=("A", "B"), reassigned_by="U03CAT")),
    ({"kind": "reminder", "step_id": "draft", "to": ["U02BOB"], "text": "", "data": {"title": "Draft", "number": 1}},
     Reminder(step_id="draft", to=("U02BOB",), title="Draft", number=1)),
    ({"kind": "post", "step_id": "tell", "to": [], "text": "hi", "data": {"channel": None}},
     Post(step_id="tell", text="hi")),
    ({"kind": "escalation", "step_id": "seo", "to": ["S02OPS"], "text": "",
      "data": {"title": "SEO", "error": "boom", "output_tail": "", "tries": 1, "fields": [],
               "actions": ["retry", "skip", "take_over", "abort"]}},
     Escalation(step_id="seo", to=("S02OPS",), title="SEO", error="boom", tries=1)),
    ({"kind": "step_finished", "step_id": "a", "to": [], "text": "",
      "data": {"title": "A", "status": "completed", "actor": None, "reason": None}},
     StepFinished(step_id="a", title="A", status="completed")),
    ({"kind": "standup_summary", "step_id": "s", "to": [], "text": "",
      "data": {"answers": {"U1": {"q": "a"}}, "missing": [], "late": [], "away": ["U2"], "questions": {"q": "Q?"},
               "blockers": []}},
     StandupSummary(step_id="s", answers={"U1": {"q": "a"}}, away=("U2",), questions={"q": "Q?"})),
    ({"kind": "help_requested", "run_id": "r", "workflow_id": "w", "step_id": "draft", "to": ["U01ANN"], "text": "",
      "data": {"title": "Draft", "actor": "U02BOB"}},
     HelpRequested(step_id="draft", to=("U01ANN",), title="Draft", actor="U02BOB")),
]


@pytest.mark.parametrize(("payload", "expected"), PREVIOUS_RELEASE, ids=lambda v: v["kind"] if isinstance(v, dict) else "")
def test_rows_of_the_previous_release_read_as_typed_messages(payload, expected):
    assert message_from_payload(payload) == expected


def test_missing_and_odd_values_read_as_empty_ones():
    odd = message_from_payload({"kind": "reminder", "step_id": 7, "to": ["U1", "", 3, None], "destination": "moon",
                                "data": {"title": None, "number": "2", "closes": 5}})
    assert odd == Reminder(step_id="7", to=("U1",), title="", number=0, closes="5")
    bare = message_from_payload({"kind": "standup_summary", "data": {"answers": {"U1": {"q": 1}, "U2": "x"},
                                                                     "questions": ["q"]}})
    assert bare == StandupSummary(answers={"U1": {"q": 1}})
    assert message_from_payload({"kind": "escalation", "data": "nonsense"}) == Escalation(title="", error="")


@pytest.mark.parametrize("payload", [{}, {"kind": "something_new"}, {"kind": None}, {"kind": ["ask"]},
                                     {"kind": "header"}, {"kind": "Ask"}])
def test_an_unknown_kind_is_an_error(payload):
    with pytest.raises(UnknownMessageKind) as raised:
        message_from_payload(payload)
    assert raised.value.kind == payload.get("kind")
