"""The ack half of every slow listener."""

from __future__ import annotations

from slack_bolt import Ack


def acknowledge(ack: Ack) -> None:
    """Answer Slack at once; the listener's lazy functions do the work afterwards."""
    ack()
