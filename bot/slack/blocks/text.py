"""Text for Slack: escaping, mentions and truncation within Slack's limits.

Every value that comes from a person, an automation or a template is passed through `escape`
before it reaches mrkdwn, so `<!channel>`, `<@U123>` or `<https://x|y>` typed into a form or
returned by code shows as text and never pings anyone or hides a link. Mentions are made only
by `mention`, from principals the engine resolved (user, user-group IDs, or `*`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# --- Slack's limits (characters, or blocks) -----------------------------------------------------
SECTION_TEXT = 3000  # a section's text, or any mrkdwn text object
SECTION_FIELD = 2000  # one of a section's fields
CONTEXT_TEXT = 3000  # one text element of a context block
CONTEXT_ELEMENTS = 10
HEADER_TEXT = 150  # a header block
PLAIN_LABEL = 150  # short plain_text labels: placeholders, headers
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100  # options of a select
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
MODAL_TITLE = 24  # a modal's title, submit and close buttons
INPUT_LABEL = 2000
INPUT_HINT = 2000
PLACEHOLDER = 150
PLAIN_TEXT_INPUT = 3000  # max_length of a plain_text_input
PRIVATE_METADATA = 3000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
FALLBACK_TEXT = 4000  # a message's top-level `text` (Slack truncates far later; keep it readable)

ELLIPSIS = "…"

_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EVERYONE = "*"


def escape(value: Any) -> str:
    """`value` as mrkdwn that shows exactly what it says: `&`, `<` and `>` become entities."""
    text = value if isinstance(value, str) else display(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape`: text as a person typed it, from a message or a command. Slack
    sends typed `&`, `<` and `>` as entities (its own markup, `<@U…>`, stays markup)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def display(value: Any) -> str:
    """A plain value as people read it: lists joined with commas, booleans as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(display(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {display(v)}" for k, v in value.items())
    return str(value)


def mention(principal: str | None) -> str:
    """`<@U…>` for a user, `<!subteam^S…>` for a user group, "everyone" for `*`; anything else
    (never a principal the engine resolved) is shown escaped, as text."""
    if not principal:
        return "nobody"
    if principal == EVERYONE:
        return "everyone"
    if _USER.match(principal):
        return f"<@{principal}>"
    if _GROUP.match(principal):
        return f"<!subteam^{principal}>"
    return escape(principal)


def mentions(principals: Iterable[str], *, empty: str = "nobody") -> str:
    """Several principals, as "a, b and c"."""
    said = [mention(p) for p in dict.fromkeys(p for p in principals if p)]
    if not said:
        return empty
    if len(said) == 1:
        return said[0]
    return ", ".join(said[:-1]) + " and " + said[-1]


def channel_link(channel: str | None) -> str:
    """`<#C…>` for a channel ID; a `#name` (or anything else) escaped as text."""
    if channel and _CHANNEL_ID.match(channel):
        return f"<#{channel}>"
    return escape(channel or "")


def truncate(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Plain text of at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ellipsis), 0)].rstrip() + ellipsis


def truncate_mrkdwn(text: str, limit: int = SECTION_TEXT, ellipsis: str = ELLIPSIS) -> str:
    """Like `truncate`, for escaped mrkdwn: a cut never splits an entity (`&lt;`) or a
    mention (`<@U…>`), which would show half of it as text."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ellipsis), 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    opened = cut.rfind("<")
    if opened != -1 and ">" not in cut[opened:]:
        cut = cut[:opened]
    return cut.rstrip() + ellipsis


def button_text(text: str) -> str:
    return truncate(text, BUTTON_TEXT)


def modal_title(text: str) -> str:
    return truncate(text, MODAL_TITLE)


def label(text: str, limit: int = PLAIN_LABEL) -> str:
    return truncate(text, limit)


def split_mrkdwn(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """Escaped mrkdwn cut into pieces of at most `limit` characters, at line ends where
    possible, never inside an entity or a mention."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = limit
            amp = rest.rfind("&", 0, cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
            opened = rest.rfind("<", 0, cut)
            if opened != -1 and ">" not in rest[opened:cut]:
                cut = opened
            if cut <= 0:
                cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p.strip()]


def code_block(text: str, limit: int = SECTION_TEXT, *, max_lines: int = 25) -> str:
    """The last lines of `text` (escaped) in a ``` block that fits `limit` with its fences.

    Output is cut from the start, where it matters least: the end of a log says what failed.
    """
    lines = text.replace("```", "ʼʼʼ").splitlines()[-max_lines:]
    room = limit - len("```\n\n```") - len(ELLIPSIS) - 1
    kept: list[str] = []
    size = 0
    cut = len(text.splitlines()) > len(lines)
    for line in reversed(lines):
        escaped = escape(line)
        if size + len(escaped) + 1 > room:
            cut = True
            if not kept:  # the last line alone is too long: keep its end
                raw = line[-room:]
                while len(escape(raw)) > room:
                    raw = raw[max(1, (len(escape(raw)) - room) // 5) :]
                kept.append(escape(raw))
            break
        kept.append(escaped)
        size += len(escaped) + 1
    body = "\n".join(reversed(kept)).strip("\n") or " "
    if cut:
        body = ELLIPSIS + "\n" + body if "\n" in body or len(kept) > 1 else ELLIPSIS + body
    return f"```\n{body}\n```"


def quote(text: str) -> str:
    """Escaped text as a mrkdwn block quote."""
    return "\n".join(f">{escape(line)}" for line in (text.splitlines() or [""]))
