"""Secrets never reach a log line: every record is masked before any handler writes it.

What is masked: the values of the secrets this process knows (workflow `${{ secrets.NAME }}`
references, resolved from the environment exactly as the automation runners resolve them),
Slack's credentials from the settings, and anything shaped like a Slack token (`xoxb-...`,
`xapp-...`) even when the process never held it. Masking itself is `Redactor`'s, the same that
cleans automation errors and output.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.automations.secrets import MASK, Redactor, SecretMissing, SecretResolver
from bot.definitions.values import secret_names
from bot.settings import Settings

# Bot, user, app-level, refresh and configuration tokens all start this way.
SLACK_TOKEN = re.compile(r"\b(x(?:ox[a-z]|app)-)[A-Za-z0-9-]+")
WORKFLOW_SUFFIXES = (".yaml", ".yml")
# Attributes every LogRecord has; anything else was passed with `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class KnownSecrets:
    """The secret values this process knows, growing as secrets are resolved (thread-safe)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._redactor = Redactor()
        self._lock = threading.Lock()

    def remember(self, values: Iterable[str | None]) -> None:
        fresh = {value for value in values if value} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            self._redactor = Redactor(self._values)

    def remember_references(self, value: Any, environ: Mapping[str, str] | None = None) -> None:
        """Remember the values of every `${{ secrets.NAME }}` in `value` (text or nested data)
        that is set; a missing one is the runner's to report."""
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        resolver = SecretResolver(environ)
        values = []
        for name in set(secret_names(text)):
            try:
                values.append(resolver.lookup(name))
            except SecretMissing:
                continue
        self.remember(values)

    def redact(self, text: str) -> str:
        if not text:
            return text
        return SLACK_TOKEN.sub(rf"\1{MASK}", self._redactor(text))


KNOWN_SECRETS = KnownSecrets()


def remember_settings(settings: Settings) -> None:
    """Slack's credentials, and the secrets the workflow files refer to."""
    KNOWN_SECRETS.remember(
        secret.get_secret_value()
        for secret in (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
        if secret is not None
    )
    folder = Path(settings.workflows_dir)
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.suffix in WORKFLOW_SUFFIXES and path.is_file():
                try:
                    KNOWN_SECRETS.remember_references(path.read_text(encoding="utf-8", errors="replace"))
                except OSError:
                    continue  # unreadable now; the loader reports it


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, exception, stack and `extra=` fields.

    Installed on the handler, so every record any logger sends there is masked; the record is
    masked in place, so handlers after this one see the masked text too.
    """

    def __init__(self, secrets: KnownSecrets = KNOWN_SECRETS):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.secrets.redact
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - arguments that do not fit the format: keep the text
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in STANDARD_ATTRIBUTES:
                setattr(record, name, _redact_value(value, redact))
        return True


def _redact_value(value: Any, redact: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    text = json.dumps(value, default=str)
    masked = redact(text)
    if masked == text:
        return value
    try:
        return json.loads(masked)
    except ValueError:
        return masked
