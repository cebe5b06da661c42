"""Outbox payloads as Slack messages: `render_message(payload) -> {"text", "blocks"}`.

The payload is read back into its message class (`bot.engine.messages`), and `render` matches
every class of the closed `Message` union: a kind without a renderer is a type error, and a
payload of a kind this release does not know raises `UnknownMessageKind` (the messenger marks
the row failed) instead of showing something vague. Every value from people, automations or
templates is escaped (see `text.escape`); mentions come only from the payload's `to` and the
actors the engine recorded.
"""

from __future__ import annotations

from typing import Any, assert_never

from bot.engine.messages import (
    HEADER,
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
    message_from_payload,
)
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.kit import Block
from bot.slack.blocks.payloads import Payload
from bot.slack.blocks.requests import approval_request, ask, decision_request, escalation
from bot.slack.blocks.standup import (
    standup_prompt,
    standup_question,
    standup_summary,
    standup_thanks,
)

Rendered = tuple[str, list[Block]]
KINDS: tuple[str, ...] = (*(cls.kind for cls in MESSAGE_CLASSES), HEADER)


def render_message(payload: dict[str, Any], *, workflow_title: str | None = None) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for one outbox payload, within Slack's limits
    (at most 50 blocks, 3,000 characters per text). Raises `UnknownMessageKind`."""
    if payload.get("kind") == HEADER:
        fallback, blocks = header(Payload.of(payload, workflow_title))
        kind = HEADER
    else:
        message = message_from_payload(payload)
        fallback, blocks = render(Payload.of(payload, workflow_title, message), message)
        kind = message.kind
    fallback = t.truncate_mrkdwn(fallback.strip() or t.escape(kind), t.FALLBACK_TEXT)
    return {"text": fallback, "blocks": kit.fit(blocks, t.MESSAGE_BLOCKS)}


def render(p: Payload, m: Message) -> Rendered:
    """The fallback text and blocks of one message."""
    match m:
        case RunStarted():
            return run_started(p, m)
        case RunFinished():
            return run_finished(p, m)
        case StepFinished():
            return step_finished(p, m)
        case Post():
            return post(p, m)
        case AskPerson():
            return ask(p, m)
        case ApprovalRequest():
            return approval_request(p, m)
        case DecisionRequest():
            return decision_request(p, m)
        case ApprovalProgress():
            return approval_progress(p, m)
        case Rejected():
            return rejected(p, m)
        case Reminder():
            return reminder(p, m)
        case Overdue():
            return overdue(p, m)
        case HelpRequested():
            return help_requested(p, m)
        case Escalation():
            return escalation(p, m)
        case Escalated():
            return escalated(p, m)
        case StandupPrompt():
            return standup_prompt(p, m)
        case StandupQuestion():
            return standup_question(p, m)
        case StandupThanks():
            return standup_thanks(p, m)
        case StandupSummary():
            return standup_summary(p, m)
        case _:
            assert_never(m)


def _line(text: str, *more: Block) -> Rendered:
    return text, [kit.section(text), *more]


def _reason(reason: str | None) -> list[Block]:
    return [kit.section(t.truncate_mrkdwn(t.quote(reason)))] if reason else []


def run_started(p: Payload, m: RunStarted) -> Rendered:
    who = f" by {p.who}" if p.who else ""
    text = f":arrow_forward: *{t.escape(p.workflow)}* started{who}"
    return text, [kit.section(text), kit.context(f"Run `{t.escape(p.run_id)}` · updates follow in this thread")]


def reminder(p: Payload, m: Reminder) -> Rendered:
    lead = f"Reminder {m.number}" if m.number > 1 else "Reminder"
    title = f"*{t.escape(p.step(m.title))}*"
    if p.who:
        return _line(f":alarm_clock: {lead}: {p.who}, {title} is still waiting on you.")
    return _line(f":alarm_clock: {lead}: {title} is still waiting.")


def overdue(p: Payload, m: Overdue) -> Rendered:
    within = f" (due {t.escape(m.due)} after it was asked)" if m.due else ""
    follow = f" {p.who}, please follow up." if p.who else ""
    return _line(f":red_circle: *{t.escape(p.step(m.title))}* is overdue{within}.{follow}")


_FINISHED = {
    "completed": (":white_check_mark:", "done"),
    "skipped": (":fast_forward:", "skipped"),
    "failed": (":x:", "failed"),
    "cancelled": (":no_entry_sign:", "cancelled"),
}


def step_finished(p: Payload, m: StepFinished) -> Rendered:
    status = m.status or "completed"
    emoji, word = _FINISHED.get(status, (":information_source:", t.escape(status.replace("_", " "))))
    by = f" by {t.mention(m.actor)}" if m.actor else ""
    text = f"{emoji} *{t.escape(p.step(m.title))}* {word}{by}"
    # A person's reason is quoted; the engine's own ("skipped by <@U…>") repeats the actor.
    reason = m.reason if status != "completed" else None
    if m.actor and reason == f"{status} by <@{m.actor}>":
        reason = None
    return text, [kit.section(text), *_reason(reason)]


def rejected(p: Payload, m: Rejected) -> Rendered:
    by = t.mention(m.actor) if m.actor else "Someone"
    text = f":leftwards_arrow_with_hook: {by} rejected *{t.escape(p.step(m.title))}*"
    after = f"Back to `{t.escape(m.back_to)}` for another round." if m.back_to else "The run ends here."
    return f"{text}: {t.escape(m.reason)}", [kit.section(text), *_reason(m.reason), kit.context(after)]


def approval_progress(p: Payload, m: ApprovalProgress) -> Rendered:
    of = f" of {m.needed}" if m.needed else ""
    return _line(f":thumbsup: {len(m.approvals)}{of} approvals so far: {t.mentions(m.approvals)}")


def escalated(p: Payload, m: Escalated) -> Rendered:
    text = f":warning: *{t.escape(p.step(m.title))}* failed and was handed to people to retry, skip or take over."
    return text, [kit.section(text), *_reason(m.error)]


_ENDINGS = {
    "completed": ":checkered_flag: The run is complete.",
    "failed": ":x: The run failed.",
    "cancelled": ":no_entry_sign: The run was cancelled.",
}


def run_finished(p: Payload, m: RunFinished) -> Rendered:
    status = m.status or "completed"
    text = _ENDINGS.get(status, f"The run ended: {t.escape(status)}.")
    if m.actor:  # who stopped it: a recorded actor, so a real mention
        text = f"{text} (by {t.mention(m.actor)})"
    return (f"{text} {t.escape(m.reason)}" if m.reason else text), [kit.section(text), *_reason(m.reason)]


def post(p: Payload, m: Post) -> Rendered:
    """A workflow's `conductor/post`: its text (escaped: it is rendered from run data)."""
    body = t.escape(m.text) if m.text.strip() else "_(empty message)_"
    blocks = kit.sections(body, max_blocks=10)
    if m.channel:  # outside the run's thread: say where it comes from
        blocks.append(kit.context(p.where()))
    return body, blocks


def help_requested(p: Payload, m: HelpRequested) -> Rendered:
    asker = t.mention(m.actor) if m.actor else "Someone"
    to = f"{p.who}: " if p.who else ""
    return _line(f":raising_hand: {to}{asker} needs help with *{t.escape(p.step(m.title))}*.")


def header(p: Payload) -> Rendered:
    """Without the run's state, a header can only name the workflow and the run; see
    `header.render_header` for the full one."""
    text = f"*{t.escape(p.workflow)}* · run `{t.escape(p.run_id)}`"
    return text, [kit.section(text)]
