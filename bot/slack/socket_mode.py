"""Socket Mode: Slack's requests over a WebSocket the app opens itself with its app-level token
(`SLACK_APP_TOKEN`, `xapp-…`), so a workspace needs no public URL and no signing secret.

Bolt's built-in client does the work: `apps.connections.open` for a URL, a ping every
`ping_interval` seconds, and a fresh connection when Slack drops the socket or asks for a
refresh. Each envelope is handed to the same Bolt app (and so the same listeners, the same
idempotency keys) as an HTTP request would be, and acknowledged with the listener's answer
(a form's field errors included).
"""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

PING_SECONDS = 10.0


def open_socket(app: App, app_token: str, *, ping_interval: float = PING_SECONDS) -> SocketModeHandler:
    """Connect; raises `SlackApiError` when Slack refuses the token, `OSError` when it cannot
    be reached. The caller closes the handler it gets."""
    handler = SocketModeHandler(app, app_token, ping_interval=ping_interval)
    try:
        handler.connect()
    except BaseException:
        handler.close()
        raise
    return handler
