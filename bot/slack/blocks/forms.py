"""Modals: a step's handoff form, and the forms to reject, reassign, start a run, answer a
stand-up and ask the four-question diagnostic.

Every form's inputs are fields (`FieldSpec`), so `parse_form_values(view["state"]["values"],
fields)` reads any of them back; the `*_FIELDS` constants are the fields of the fixed forms.
`private_metadata` is JSON naming what the form is about (run and step, or workflow).
"""

from __future__ import annotations

from typing import Any

from bot.definitions.fields import FieldSpec
from bot.definitions.four_questions import QUESTIONS
from bot.definitions.steps import StandupQuestion
from bot.slack.blocks import actions as a
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.inputs import field_label, input_block, parse_form_values
from bot.slack.blocks.kit import Block

REJECT_FIELDS: dict[str, FieldSpec] = {
    "reason": FieldSpec(type="text", label="Why is it rejected?", help="Whoever does the work again reads this.", max=3000),
}
REASSIGN_FIELDS: dict[str, FieldSpec] = {
    "assignee": FieldSpec(type="user", label="Who should do it instead?"),
}
DIAGNOSE_FIELDS: dict[str, FieldSpec] = {name: FieldSpec(type="boolean", label=question) for name, question in QUESTIONS}

INTRO_BLOCKS = 4  # at most, before a form's inputs


def modal(title: str, blocks: list[Block], *, callback_id: str, submit: str | None = "Submit",
          close: str = "Cancel", private_metadata: str | None = None) -> dict[str, Any]:
    """A modal view: title, submit and close cut to 24 characters, at most 100 blocks."""
    view: dict[str, Any] = {
        "type": "modal", "callback_id": callback_id, "title": kit.plain(title, t.MODAL_TITLE),
        "close": kit.plain(close, t.MODAL_TITLE), "blocks": kit.fit(blocks, t.VIEW_BLOCKS),
    }
    if submit:
        view["submit"] = kit.plain(submit, t.MODAL_TITLE)
    if private_metadata:
        view["private_metadata"] = private_metadata
    return view


def _inputs(fields: dict[str, FieldSpec], initial: dict[str, Any] | None, room: int) -> list[Block]:
    """One input block per field, within `room` blocks; the last says what did not fit."""
    names = list(fields)
    if len(names) > room:
        kept = names[: room - 1]
        left = ", ".join(t.escape(field_label(n, fields[n])) for n in names[room - 1 :])
        blocks = [_input(n, fields[n], initial) for n in kept]
        return blocks + [kit.context(t.truncate_mrkdwn(f"Not shown here (too many fields): {left}", t.CONTEXT_TEXT))]
    return [_input(n, fields[n], initial) for n in names]


def _input(name: str, spec: FieldSpec, initial: dict[str, Any] | None) -> Block:
    if initial is not None and name in initial:
        return input_block(name, spec, initial[name])
    return input_block(name, spec)


def _intro(title: str | None, prompt: str | None) -> list[Block]:
    blocks: list[Block] = []
    if title:
        blocks.append(kit.section(f"*{t.escape(title)}*"))
    if prompt and prompt.strip():
        blocks += kit.sections(t.escape(prompt), max_blocks=INTRO_BLOCKS - len(blocks))
    return blocks


def step_form(run_id: str, step_id: str, title: str, fields: dict[str, FieldSpec], *,
              callback_id: str = a.STEP_FORM, initial: dict[str, Any] | None = None,
              prompt: str | None = None, submit: str = "Submit") -> dict[str, Any]:
    """The form of a step's outputs: one input per field (block id = field name, action id
    "value"), preset from `initial` or the fields' defaults. Used for a task's handoff, an
    approval's extra fields (`callback_id=APPROVE_FORM`) and taking over an automation
    (`callback_id=TAKE_OVER_FORM`)."""
    blocks = _intro(title, prompt)
    if fields:
        blocks += _inputs(fields, initial, t.VIEW_BLOCKS - len(blocks))
    else:
        blocks.append(kit.section("Nothing to fill in: submit to mark it done."))
    return modal(title, blocks, callback_id=callback_id, submit=submit,
                 private_metadata=a.metadata(run_id=run_id, step_id=step_id))


def reject_form(run_id: str, step_id: str, title: str, *, required: bool = True) -> dict[str, Any]:
    """Why an approval is rejected: one multi-line `reason` (see `REJECT_FIELDS`)."""
    fields = {"reason": REJECT_FIELDS["reason"].model_copy(update={"required": required})}
    blocks = [kit.section(f"Reject *{t.escape(title)}*")] + _inputs(fields, None, t.VIEW_BLOCKS - 1)
    return modal(f"Reject: {title}", blocks, callback_id=a.REJECT_FORM, submit="Reject",
                 private_metadata=a.metadata(run_id=run_id, step_id=step_id))


def reassign_form(run_id: str, step_id: str, title: str) -> dict[str, Any]:
    """Who should do a step instead: one `assignee` (see `REASSIGN_FIELDS`)."""
    blocks = [kit.section(f"Reassign *{t.escape(title)}*")] + _inputs(REASSIGN_FIELDS, None, t.VIEW_BLOCKS - 1)
    return modal("Reassign", blocks, callback_id=a.REASSIGN_FORM, submit="Reassign",
                 private_metadata=a.metadata(run_id=run_id, step_id=step_id))


def start_form(workflow_id: str, title: str, fields: dict[str, FieldSpec], *,
               given: dict[str, Any] | None = None, description: str | None = None) -> dict[str, Any]:
    """Start a run: asks only the inputs not `given` already (those travel in the metadata,
    as `{"workflow_id", "given"}`; a `ValueError` when they do not fit its 3,000 characters)."""
    given = given or {}
    missing = {name: spec for name, spec in fields.items() if name not in given}
    blocks = _intro(f"Start {title}", description)
    if missing:
        blocks += _inputs(missing, None, t.VIEW_BLOCKS - len(blocks))
    else:
        blocks.append(kit.section("Everything it needs is known: start it?"))
    return modal(f"Start {title}", blocks, callback_id=a.START_FORM, submit="Start",
                 private_metadata=a.metadata(workflow_id=workflow_id, given=given or None))


def diagnose_form(*, initial: dict[str, bool] | None = None, step: str | None = None) -> dict[str, Any]:
    """The four-question diagnostic, each a yes/no radio choice (see `DIAGNOSE_FIELDS`)."""
    yes, no = kit.option("Yes", "yes"), kit.option("No", "no")
    blocks = _intro(None, "Answer four questions about the work; Conductor recommends people, code or a split.")
    for name, question in QUESTIONS:
        element: dict[str, Any] = {"type": "radio_buttons", "action_id": a.VALUE, "options": [yes, no]}
        if initial is not None and initial.get(name) is not None:
            element["initial_option"] = yes if initial[name] else no
        blocks.append({"type": "input", "block_id": name, "label": kit.plain(question, t.INPUT_LABEL), "element": element})
    return modal("People or code?", blocks, callback_id=a.DIAGNOSE_FORM, submit="Recommend",
                 private_metadata=a.metadata(step=step) if step else None)


def standup_fields(questions: list[StandupQuestion]) -> dict[str, FieldSpec]:
    """A stand-up's questions as fields, as the engine checks the answers."""
    return {
        q.id: FieldSpec(type=q.type, options=q.options, required=q.required, label=q.text,
                        help="A blocker: whatever you write here goes to whoever conducts." if q.blocker else None)
        for q in questions
    }


def standup_form(questions: list[StandupQuestion], *, run_id: str, step_id: str, title: str = "Stand-up",
                 prompt: str | None = None, initial: dict[str, Any] | None = None) -> dict[str, Any]:
    """A participant's answers; read them back with `parse_form_values(values, standup_fields(questions))`."""
    blocks = _intro(None, prompt)
    blocks += _inputs(standup_fields(questions), initial, t.VIEW_BLOCKS - len(blocks))
    return modal(title, blocks, callback_id=a.STANDUP_FORM, submit="Send",
                 private_metadata=a.metadata(run_id=run_id, step_id=step_id))


__all__ = [
    "DIAGNOSE_FIELDS", "REASSIGN_FIELDS", "REJECT_FIELDS", "diagnose_form", "modal", "parse_form_values",
    "reassign_form", "reject_form", "standup_fields", "standup_form", "start_form", "step_form",
]
