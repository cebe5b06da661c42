"""What the local Web API answers as `{"ok": false, "error": ...}`."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """Raised by a method handler: answered as `{"ok": false, "error": ...}`, with `fields`
    added to the body (as Slack adds `needed` and `provided` to `missing_scope`)."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None,
                 fields: dict[str, Any] | None = None):
        super().__init__(error)
        self.error, self.status, self.headers = error, status, headers or {}
        self.fields = fields or {}
