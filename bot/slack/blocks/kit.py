"""Small builders of Block Kit objects as plain dicts, each within Slack's limits.

Texts given to `mrkdwn`, `section` and `context` must already be escaped mrkdwn (see
`text.escape`); texts given to `plain` are plain text and need no escaping.
"""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import text as t

Block = dict[str, Any]


def plain(text: str, limit: int = t.PLAIN_LABEL) -> dict[str, Any]:
    return {"type": "plain_text", "text": t.truncate(text, limit) or "—"}


def mrkdwn(text: str, limit: int = t.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": t.truncate_mrkdwn(text, limit) or "—"}


def section(text: str, *, accessory: dict[str, Any] | None = None, fields: list[str] | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(f, t.SECTION_FIELD) for f in fields[:10]]
    if accessory is not None:
        block["accessory"] = accessory
    return block


def sections(text: str, *, max_blocks: int = 5) -> list[Block]:
    """Long escaped mrkdwn as several sections (at line ends), the last one cut if need be."""
    pieces = t.split_mrkdwn(text)
    if len(pieces) > max_blocks:
        pieces = pieces[: max_blocks - 1] + [t.truncate_mrkdwn("\n".join(pieces[max_blocks - 1 :]))]
    return [section(piece) for piece in pieces]


def context(*texts: str) -> Block:
    elements = [mrkdwn(text, t.CONTEXT_TEXT) for text in texts if text][: t.CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [mrkdwn("—")]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, t.HEADER_TEXT)}


def divider() -> Block:
    return {"type": "divider"}


def confirm(title: str, text: str, ok: str, deny: str = "Cancel", *, style: str | None = None) -> dict[str, Any]:
    """A confirmation dialog; `text` is escaped mrkdwn."""
    dialog: dict[str, Any] = {
        "title": plain(title, t.CONFIRM_TITLE), "text": mrkdwn(text, t.CONFIRM_TEXT),
        "confirm": plain(ok, t.CONFIRM_BUTTON), "deny": plain(deny, t.CONFIRM_BUTTON),
    }
    if style:
        dialog["style"] = style
    return dialog


def button(text: str, action_id: str, value: str, *, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    if len(value) > t.BUTTON_VALUE:
        raise ValueError(f"a button value is at most {t.BUTTON_VALUE} characters")
    element: dict[str, Any] = {"type": "button", "text": plain(text, t.BUTTON_TEXT), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    """An actions block; action_ids must be unique within it."""
    ids = [e.get("action_id") for e in elements]
    if len(ids) != len(set(ids)):
        raise ValueError(f"action_ids must be unique within an actions block: {ids}")
    block: Block = {"type": "actions", "elements": list(elements[: t.ACTIONS_ELEMENTS])}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str, *, description: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"text": plain(text, t.OPTION_TEXT), "value": value[: t.OPTION_VALUE]}
    if description:
        item["description"] = plain(description, t.OPTION_TEXT)
    return item


def fit(blocks: list[Block], limit: int, *, noun: str = "more") -> list[Block]:
    """At most `limit` blocks: when there are more, the last one says how many were left out.

    A run of blocks that belongs together is not split from its heading: counting is by block,
    so callers that group blocks should fit per group (see `fit_groups`)."""
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return kept + [context(f"_…and {len(blocks) - len(kept)} {noun} not shown_")]


def fit_groups(groups: list[list[Block]], limit: int, *, noun: str = "more") -> list[Block]:
    """Whole groups of blocks (an item and its buttons) up to `limit` blocks in all; when some
    do not fit, a last context line says how many groups were left out."""
    out: list[Block] = []
    for n, group in enumerate(groups):
        reserve = 1 if n < len(groups) - 1 else 0
        if len(out) + len(group) + reserve > limit:
            out.append(context(f"_…and {len(groups) - n} {noun}_"))
            return out
        out.extend(group)
    return out
