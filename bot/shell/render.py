"""Slack messages and views as terminal text: mrkdwn made readable (mentions by name, links,
bold), Block Kit laid out line by line, and every button given a number to press.

Pure functions of a message and a `Style`; colour is only a style, so what a script checks with
`:expect` is the same text a person reads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENTITY = re.compile(r"<([^<>]+)>")
BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
EMOJI = re.compile(r":([a-z0-9_+-]+):")
# The emoji Conductor's messages use, as the characters a terminal can show.
EMOJI_CHARS = {
    "x": "✗", "no_entry_sign": "⊘", "white_check_mark": "✓", "warning": "⚠", "raising_hand": "✋",
    "red_circle": "●", "gear": "⚙", "fast_forward": "⏩", "construction": "🚧", "checkered_flag": "🏁",
    "alarm_clock": "⏰", "white_small_square": "▫", "wave": "👋", "twisted_rightwards_arrows": "🔀",
    "thumbsup": "👍", "tada": "🎉", "repeat": "🔁", "leftwards_arrow_with_hook": "↩", "information_source": "ℹ",
    "hourglass_flowing_sand": "⏳", "grey_question": "❔", "ballot_box_with_check": "☑", "arrow_forward": "▶", "clock3": "🕒",
}
STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")


@dataclass(frozen=True)
class Style:
    """How emphasis looks: ANSI colour on a terminal that has it, nothing otherwise."""

    color: bool = False

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def mention(self, text: str) -> str:
        return self._wrap("36", text)

    def button(self, text: str) -> str:
        return self._wrap("33;1", text)

    def error(self, text: str) -> str:
        return self._wrap("31;1", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)


@dataclass(frozen=True)
class Names:
    """How IDs read: `user(U123) -> "maria"`, `channel(C123) -> "content"`."""

    user: Callable[[str], str]
    channel: Callable[[str], str]
    group: Callable[[str], str] = lambda group_id: group_id


@dataclass
class Button:
    """A button on screen: where it is and what pressing it sends."""

    number: int
    label: str
    action: dict[str, Any]
    context: str = ""  # the plain text of the message or view it is on


def mrkdwn(text: str, names: Names, style: Style) -> str:
    """Slack mrkdwn as plain terminal text."""

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return style.mention("@" + (label or names.user(target[1:])))
        if target.startswith("#"):
            return style.mention("#" + (label or names.channel(target[1:])))
        if target.startswith("!subteam^"):
            return style.mention(label or "@" + names.group(target[9:]))
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return style.mention("@" + target[1:])
        return f"{label} ({target})" if label and label != target else target

    # A quote (`>` at a line's start, escaped by then) reads as a bar, as Slack draws it.
    text = re.sub(r"(?m)^(&gt;|>)\s?", "│ ", text)
    shown = ENTITY.sub(entity, text)
    shown = BOLD.sub(lambda m: style.bold(m.group(1)), shown)
    shown = STRIKE.sub(lambda m: style.dim(m.group(1)), shown)
    shown = ITALIC.sub(lambda m: style.dim(m.group(1)), shown)
    shown = EMOJI.sub(lambda m: EMOJI_CHARS.get(m.group(1), m.group(0)), shown)
    return html.unescape(shown)


def text_of(obj: Any, names: Names, style: Style) -> str:
    """A text object (`plain_text` or `mrkdwn`) as terminal text."""
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn(raw, names, style) if obj.get("type") == "mrkdwn" else html.unescape(raw)


class Numbering:
    """Numbers for buttons across the session: each button shown gets the next number, so a
    number keeps meaning the same button while it is on screen."""

    def __init__(self) -> None:
        self.buttons: dict[int, Button] = {}
        self._next = 1

    @property
    def next_number(self) -> int:
        return self._next

    def add(self, label: str, action: dict[str, Any]) -> Button:
        button = Button(self._next, label, action)
        self.buttons[self._next] = button
        self._next += 1
        return button


def blocks_text(blocks: list[dict[str, Any]], names: Names, style: Style, numbering: Numbering | None,
                where: dict[str, Any]) -> list[str]:
    """Block Kit as lines. Buttons are numbered when `numbering` is given; `where` is stored
    with each button (channel and message, or the view) so a press can be sent back."""
    lines: list[str] = []

    def press(element: dict[str, Any], block: dict[str, Any]) -> str:
        label = text_of(element.get("text"), names, style) or element.get("action_id", "?")
        if numbering is None:
            return style.button(f"[{label}]")
        button = numbering.add(label, {**element, "block_id": block.get("block_id", ""), **where})
        return style.button(f"[{button.number}] {label}")

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(style.bold(text_of(block.get("text"), names, style)))
        elif kind == "section":
            if block.get("text"):
                lines.extend(text_of(block["text"], names, style).splitlines())
            for item in block.get("fields") or []:
                lines.append("  " + text_of(item, names, style).replace("\n", " "))
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":
                lines.append("  " + press(accessory, block))
        elif kind == "context":
            parts = [text_of(e, names, style) for e in block.get("elements") or [] if e.get("type") != "image"]
            lines.append(style.dim(" · ".join(p for p in parts if p)))
        elif kind == "actions":
            shown = [press(e, block) for e in block.get("elements") or [] if e.get("type") == "button"]
            if shown:
                lines.append("  " + "  ".join(shown))
        elif kind == "divider":
            lines.append(style.dim("—" * 24))
        elif kind == "input":
            lines.append("  " + field_line(block, names, style))
        elif kind == "image":
            lines.append(style.dim(f"(image: {block.get('alt_text', '')})"))
    return lines


def field_line(block: dict[str, Any], names: Names, style: Style) -> str:
    """One form field as a line: its label, whether it may be left empty, and its hint."""
    label = text_of(block.get("label"), names, style)
    optional = style.dim(" (optional)") if block.get("optional") else ""
    hint = text_of(block.get("hint"), names, style)
    return f"{style.bold(label)}{optional}" + (style.dim(f" — {hint}") if hint else "")


def message_lines(message: dict[str, Any], names: Names, style: Style, numbering: Numbering | None,
                  where: dict[str, Any]) -> list[str]:
    """A message's body: its blocks when it has them (what Slack shows), else its text."""
    if message.get("blocks"):
        return blocks_text(message["blocks"], names, style, numbering, where)
    return mrkdwn(str(message.get("text", "")), names, style).splitlines() or [""]
