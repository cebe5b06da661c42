"""Outbox payloads as Slack messages: `render_message(payload) -> {"text", "blocks"}`.

One renderer per message kind the engine writes; an unknown kind still gets a readable
message. Every value from people, automations or templates is escaped (see `text.escape`);
mentions come only from the payload's `to` and the actors the engine recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.kit import Block
from bot.slack.blocks.payloads import Payload
from bot.slack.blocks.requests import approval_request, ask, decision_request, escalation
from bot.slack.blocks.standup import standup_prompt, standup_question, standup_summary, standup_thanks

Rendered = tuple[str, list[Block]]


def render_message(payload: dict[str, Any], *, workflow_title: str | None = None) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for one outbox payload, within Slack's limits
    (at most 50 blocks, 3,000 characters per text)."""
    p = Payload.of(payload, workflow_title)
    fallback, blocks = RENDERERS.get(p.kind, _other)(p)
    fallback = t.truncate_mrkdwn(fallback.strip() or t.escape(p.kind or "update"), t.FALLBACK_TEXT)
    return {"text": fallback, "blocks": kit.fit(blocks, t.MESSAGE_BLOCKS)}


def _line(text: str, *more: Block) -> Rendered:
    return text, [kit.section(text), *more]


def _reason(reason: Any) -> list[Block]:
    return [kit.section(t.truncate_mrkdwn(t.quote(str(reason))))] if reason else []


def run_started(p: Payload) -> Rendered:
    who = f" by {p.who}" if p.who else ""
    text = f":arrow_forward: *{t.escape(p.workflow)}* started{who}"
    return text, [kit.section(text), kit.context(f"Run `{t.escape(p.run_id)}` · updates follow in this thread")]


def reminder(p: Payload) -> Rendered:
    number = p.data.get("number")
    lead = f"Reminder {t.escape(number)}" if isinstance(number, int) and number > 1 else "Reminder"
    title = f"*{t.escape(p.step_title)}*"
    if p.who:
        return _line(f":alarm_clock: {lead}: {p.who}, {title} is still waiting on you.")
    return _line(f":alarm_clock: {lead}: {title} is still waiting.")


def overdue(p: Payload) -> Rendered:
    due = p.data.get("due")
    within = f" (due {t.escape(due)} after it was asked)" if due else ""
    follow = f" {p.who}, please follow up." if p.who else ""
    return _line(f":red_circle: *{t.escape(p.step_title)}* is overdue{within}.{follow}")


_FINISHED = {
    "completed": (":white_check_mark:", "done"),
    "skipped": (":fast_forward:", "skipped"),
    "failed": (":x:", "failed"),
    "cancelled": (":no_entry_sign:", "cancelled"),
}


def step_finished(p: Payload) -> Rendered:
    status = str(p.data.get("status") or "completed")
    emoji, word = _FINISHED.get(status, (":information_source:", t.escape(status.replace("_", " "))))
    actor = p.data.get("actor")
    by = f" by {t.mention(str(actor))}" if actor else ""
    text = f"{emoji} *{t.escape(p.step_title)}* {word}{by}"
    # A person's reason is quoted; the engine's own ("skipped by <@U…>") repeats the actor.
    reason = p.data.get("reason") if status != "completed" else None
    if actor and reason == f"{status} by <@{actor}>":
        reason = None
    return text, [kit.section(text), *_reason(reason)]


def rejected(p: Payload) -> Rendered:
    actor = p.data.get("actor")
    by = t.mention(str(actor)) if actor else "Someone"
    text = f":leftwards_arrow_with_hook: {by} rejected *{t.escape(p.step_title)}*"
    back_to = p.data.get("back_to")
    after = (f"Back to `{t.escape(back_to)}` for another round." if back_to else "The run ends here.")
    return f"{text}: {t.escape(p.data.get('reason') or '')}", [
        kit.section(text), *_reason(p.data.get("reason")), kit.context(after),
    ]


def approval_progress(p: Payload) -> Rendered:
    approvals = [str(u) for u in p.data.get("approvals") or []]
    needed = p.data.get("needed")
    of = f" of {t.escape(needed)}" if needed else ""
    return _line(f":thumbsup: {len(approvals)}{of} approvals so far: {t.mentions(approvals)}")


def escalated(p: Payload) -> Rendered:
    text = f":warning: *{t.escape(p.step_title)}* failed and was handed to people to retry, skip or take over."
    return text, [kit.section(text), *_reason(p.data.get("error"))]


_ENDINGS = {
    "completed": ":checkered_flag: The run is complete.",
    "failed": ":x: The run failed.",
    "cancelled": ":no_entry_sign: The run was cancelled.",
}


def run_finished(p: Payload) -> Rendered:
    status = str(p.data.get("status") or "completed")
    text = _ENDINGS.get(status, f"The run ended: {t.escape(status)}.")
    actor = p.data.get("actor")
    if actor:  # who stopped it: a recorded actor, so a real mention
        text = f"{text} (by {t.mention(actor)})"
    reason = p.data.get("reason")
    return (f"{text} {t.escape(reason)}" if reason else text), [kit.section(text), *_reason(reason)]


def post(p: Payload) -> Rendered:
    """A workflow's `conductor/post`: its text (escaped: it is rendered from run data)."""
    body = t.escape(p.text) if p.text.strip() else "_(empty message)_"
    blocks = kit.sections(body, max_blocks=10)
    if p.data.get("channel"):  # outside the run's thread: say where it comes from
        blocks.append(kit.context(p.where()))
    return body, blocks


def header(p: Payload) -> Rendered:
    """Without the run's state, a header can only name the workflow and the run; see
    `header.render_header` for the full one."""
    text = f"*{t.escape(p.workflow)}* · run `{t.escape(p.run_id)}`"
    return text, [kit.section(text)]


def _other(p: Payload) -> Rendered:
    text = t.escape(p.text) if p.text.strip() else f"_{t.escape((p.kind or 'update').replace('_', ' '))}_"
    lead = f"{p.who}: " if p.who else ""
    return lead + text, kit.sections(lead + text, max_blocks=5)


def help_requested(p: Payload) -> Rendered:
    asker = t.mention(p.data["actor"]) if p.data.get("actor") else "Someone"
    title = f"*{t.escape(p.step_title)}*"
    to = f"{p.who}: " if p.who else ""
    return _line(f":raising_hand: {to}{asker} needs help with {title}.")


RENDERERS: dict[str, Callable[[Payload], Rendered]] = {
    "help_requested": help_requested,
    "run_started": run_started,
    "ask": ask,
    "approval_request": approval_request,
    "decision_request": decision_request,
    "reminder": reminder,
    "overdue": overdue,
    "step_finished": step_finished,
    "rejected": rejected,
    "approval_progress": approval_progress,
    "escalation": escalation,
    "escalated": escalated,
    "run_finished": run_finished,
    "post": post,
    "standup_prompt": standup_prompt,
    "standup_question": standup_question,
    "standup_thanks": standup_thanks,
    "standup_summary": standup_summary,
    "header": header,
}
KINDS = tuple(RENDERERS)
