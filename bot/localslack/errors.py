"""What the local Web API answers as `{"ok": false, "error": ...}`."""

from __future__ import annotations


class SlackError(Exception):
    """Raised by a method handler: answered as `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(error)
        self.error, self.status, self.headers = error, status, headers or {}
