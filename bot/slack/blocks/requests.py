"""Messages that ask people to act, with their buttons: a task's handoff, an approval, a
decision, and a failed automation handed to people."""

from __future__ import annotations

from bot.engine.messages import (
    APPEAL_ACTIONS,
    ApprovalRequest,
    AskPerson,
    DecisionRequest,
    Escalation,
)
from bot.slack.blocks import actions as a
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.kit import Block
from bot.slack.blocks.payloads import Payload

MAX_PROMPT_BLOCKS = 5
MAX_CHOICES = 40  # one actions block each, within the 50 blocks of a message


def _fields_line(fields: tuple[str, ...], lead: str) -> list[Block]:
    if not fields:
        return []
    return [kit.context(lead + ", ".join(f"`{t.escape(f)}`" for f in fields))]


def _opening(p: Payload, title: str, emoji: str, ask: str) -> str:
    title = f"*{t.escape(p.step(title))}*"
    who = p.who
    return f"{emoji} {who}, {ask}: {title}" if who else f"{emoji} {ask[0].upper() + ask[1:]}: {title}"


def _fallback(p: Payload, title: str, text: str, ask: str) -> str:
    who, title = p.who, t.escape(p.step(title))
    head = f"{who}, {ask}: {title}" if who else f"{ask[0].upper() + ask[1:]}: {title}"
    return f"{head} — {t.escape(text)}" if text.strip() else head


def _prompt(text: str) -> list[Block]:
    return kit.sections(t.escape(text), max_blocks=MAX_PROMPT_BLOCKS) if text.strip() else []


def ask(p: Payload, m: AskPerson) -> tuple[str, list[Block]]:
    """A task for a person: Submit opens the step's form; Reassign and Need help."""
    blocks = [kit.section(_opening(p, m.title, ":raising_hand:", "over to you"))]
    blocks += _prompt(m.text)
    blocks += _fields_line(m.fields, "Hand off: ")
    if m.reassigned_by:
        blocks.append(kit.context(f"Reassigned by {t.mention(m.reassigned_by)}"))
    value = p.value()
    blocks.append(kit.actions(
        kit.button("Submit", a.SUBMIT, value, style="primary"),
        kit.button("Reassign", a.REASSIGN, value),
        kit.button("Need help", a.HELP, value),
    ))
    return _fallback(p, m.title, m.text, "over to you"), blocks


def approval_request(p: Payload, m: ApprovalRequest) -> tuple[str, list[Block]]:
    """An approval: Approve (with the step's extra fields, if any, in a form) or Reject."""
    blocks = [kit.section(_opening(p, m.title, ":ballot_box_with_check:", "your approval please"))]
    blocks += _prompt(m.text)
    blocks += _fields_line(m.fields, "Approving also asks for: ")
    value = p.value()
    blocks.append(kit.actions(
        kit.button("Approve", a.APPROVE, value, style="primary"),
        kit.button("Reject", a.REJECT, value, style="danger"),
    ))
    return _fallback(p, m.title, m.text, "your approval please"), blocks


def decision_request(p: Payload, m: DecisionRequest) -> tuple[str, list[Block]]:
    """A person chooses a gate's route: one button per choice.

    Each button is in its own actions block, so all of them can carry the same action id
    (Slack wants action ids unique within a block); the value carries the choice."""
    blocks = [kit.section(_opening(p, m.title, ":twisted_rightwards_arrows:", "your decision please"))]
    blocks += _prompt(m.text)
    options = m.options
    for n, option in enumerate(options[:MAX_CHOICES]):
        blocks.append(kit.actions(kit.button(option, a.DECIDE, _choice_value(p, option, n))))
    if len(options) > MAX_CHOICES:
        blocks.append(kit.context(f"_…and {len(options) - MAX_CHOICES} more choices: ask the conductor_"))
    if m.reassigned_by:
        blocks.append(kit.context(f"Reassigned by {t.mention(m.reassigned_by)}"))
    return _fallback(p, m.title, m.text, "your decision please"), blocks


def _choice_value(p: Payload, option: str, index: int) -> str:
    try:
        return p.value(choice=option, index=index)
    except ValueError:  # a label too long for a button's value: the index names it
        return p.value(index=index)


ESCALATION_ACTIONS = APPEAL_ACTIONS


def escalation(p: Payload, m: Escalation) -> tuple[str, list[Block]]:
    """A failed automation, in the escalation channel: what failed and how, with the last
    lines of its output, and Retry, Skip, Take over and Abort run."""
    error = m.error or "it failed"
    title = p.step(m.title)
    blocks: list[Block] = [kit.header(f"⚠️ Automation failed: {title}")]
    tries = m.tries
    facts = [
        f"*Workflow*\n{t.escape(p.workflow)}",
        f"*Run*\n`{t.escape(p.run_id)}`",
        f"*Step*\n{t.escape(title)} (`{t.escape(p.step_id or '')}`)",
    ]
    if tries:
        facts.append(f"*Tries*\n{t.escape(tries)}")
    blocks.append(kit.section(f"{p.who or 'Someone'}, an automation needs a person.", fields=facts))
    blocks.append(kit.section("*Error*\n" + t.truncate_mrkdwn(t.quote(error), t.SECTION_TEXT - 20)))
    tail = m.output_tail
    if tail.strip():
        lead = "*Last output*\n"
        blocks.append(kit.section(lead + t.code_block(tail, t.SECTION_TEXT - len(lead))))
    wanted = [x for x in m.actions or ESCALATION_ACTIONS if x in ESCALATION_ACTIONS]
    fields = m.fields
    if "take_over" in wanted and fields:
        blocks.append(kit.context("Take over asks for the step's outputs: " + ", ".join(f"`{t.escape(f)}`" for f in fields)))
    value = p.value()
    buttons = {
        "retry": kit.button("Retry", a.RETRY, value, style="primary"),
        "skip": kit.button("Skip", a.SKIP, value),
        "take_over": kit.button("Take over", a.TAKE_OVER, value),
        "abort": kit.button("Abort run", a.ABORT, value, style="danger", confirm=kit.confirm(
            "Abort the run?", f"Run `{t.escape(p.run_id)}` of {t.escape(p.workflow)} ends as failed. "
            "Steps in progress are cancelled.", "Abort run", "Keep it", style="danger")),
    }
    if wanted:
        blocks.append(kit.actions(*(buttons[x] for x in ESCALATION_ACTIONS if x in wanted)))
    fallback = (f"⚠️ {t.escape(p.workflow)}: `{t.escape(title)}` failed in run {t.escape(p.run_id)}: "
                f"{t.escape(error)}")
    return fallback, blocks
