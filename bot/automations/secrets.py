"""Secrets: the workflow author's `${{ secrets.NAME }}` references resolved from the
environment, and redaction.

The engine never sees a secret's value: rendered step values hold each reference the author
wrote, marked as authored (`templates.authored_secret`). A runner resolves those here just
before it calls out, and keeps a `Redactor` of the values it used so that no error message or
output excerpt it hands back can show one. Plain `${{ secrets.NAME }}` text is not a reference:
it came from data (a person typed it, a system sent it) and stays text.

A reference is read from the process environment variable `NAME`. A secret that is not set
(or is set to the empty string) fails the step without retrying: another try cannot fix it,
an operator must set it. The failure names the secret, never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from bot.automations.context import AutomationError
from bot.definitions.templates import AUTHORED_SECRET, NUL, map_strings

MASK = "***"
MIN_REDACTED_LENGTH = 4  # shorter values would mask ordinary text all over


class SecretMissing(AutomationError):
    """A referenced secret is not set in the environment."""

    def __init__(self, name: str):
        super().__init__(
            f"secret `{name}` is not set: set the environment variable {name} for the bot",
            retryable=False,
        )
        self.name = name


class Redactor:
    """Replaces every known secret value with `***` in a text.

    Values shorter than four characters are left alone. Besides the value itself, its
    JSON-escaped and URL-quoted forms are masked, since echoes of a request often show those.
    """

    def __init__(self, values: Iterable[str] = ()):
        forms: set[str] = set()
        for value in values:
            if not isinstance(value, str) or len(value) < MIN_REDACTED_LENGTH:
                continue
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
            forms.add(quote(value, safe=""))
        # Longest first, so that a value containing another one is masked whole.
        self._forms = sorted((f for f in forms if len(f) >= MIN_REDACTED_LENGTH), key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def redact(self, text: str) -> str:
        if not text:
            return text
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    __call__ = redact


class SecretResolver:
    """Resolves authored references in nested values and remembers the values it put in.

    >>> from bot.definitions.templates import mark_authored
    >>> resolver = SecretResolver({"TOKEN": "s3cret-value"})
    >>> resolver.resolve({"Authorization": mark_authored("Bearer ${{ secrets.TOKEN }}")})
    {'Authorization': 'Bearer s3cret-value'}
    >>> resolver.resolve({"typed": "${{ secrets.TOKEN }}"})
    {'typed': '${{ secrets.TOKEN }}'}
    >>> resolver.redactor.redact("denied for s3cret-value")
    'denied for ***'
    """

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ
        self._used: dict[str, str] = {}

    @property
    def used_names(self) -> list[str]:
        return sorted(self._used)

    @property
    def redactor(self) -> Redactor:
        return Redactor(self._used.values())

    def lookup(self, name: str) -> str:
        value = self._environ.get(name)
        if not value:
            raise SecretMissing(name)
        self._used[name] = value
        return value

    def resolve(self, value: Any) -> Any:
        """A copy of `value` with every authored reference in its strings replaced (keys are
        left alone); plain `${{ secrets.NAME }}` text is kept as it is.

        Raises `SecretMissing` for the first reference that is not set.
        """
        return map_strings(value, self._resolve_text)

    def _resolve_text(self, text: str) -> str:
        if NUL not in text:
            return text
        return AUTHORED_SECRET.sub(lambda match: self.lookup(match.group(1)), text)


def resolve_secrets(value: Any, environ: Mapping[str, str] | None = None) -> tuple[Any, Redactor]:
    """Resolve every authored reference in `value`; returns the resolved copy and its redactor."""
    resolver = SecretResolver(environ)
    return resolver.resolve(value), resolver.redactor
