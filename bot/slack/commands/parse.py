"""Reading `/conductor ...` text: a verb and its arguments, never evaluated, never a shell.

`start blog-article title="Why we conduct" writer=<@U123|maria>` gives the verb `start`, the
workflow id and inputs; Slack's escaped mentions and channels become plain IDs, and the
entities Slack sends for typed `&`, `<` and `>` become those characters again.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.slack.blocks.text import escape, unescape

VERBS = ("start", "status", "list", "runs", "board", "mine", "cancel", "diagnose", "reload", "help",
         "standup", "away", "insights")
_MENTION = re.compile(r"^<[@#!]?(?:subteam\^)?([A-Z0-9]+)(?:\|[^>]*)?>$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class CommandError(ValueError):
    """Input that cannot be read; the message is shown to the person, privately."""


@dataclass(frozen=True)
class Command:
    verb: str
    args: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)  # key=value pairs


def _plain(value: str) -> str:
    """`<@U123|maria>` -> `U123`; `<#C123|general>` -> `C123`; `<https://x|x>` -> the URL."""
    mention = _MENTION.match(value)
    if mention:
        return mention.group(1)
    if value.startswith("<") and value.endswith(">"):
        return unescape(value[1:-1].split("|", 1)[0])
    return unescape(value)


def parse_command(text: str) -> Command:
    text = (text or "").strip()
    if not text:
        return Command("help")
    try:
        words = shlex.split(text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'"))
    except ValueError as exc:
        raise CommandError(f"could not read that: {exc} (check the quotes)") from None
    verb = words[0].lower()
    if verb not in VERBS:
        raise CommandError(f"`{escape(words[0])}` is not a command I know")
    args: list[str] = []
    options: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if sep and _KEY.match(key):
            if key in options:
                raise CommandError(f"`{key}` is given twice")
            options[key] = _plain(value)
        else:
            args.append(_plain(word))
    return Command(verb, args, options)
