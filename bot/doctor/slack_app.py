"""The Slack app's credentials: the bot token (whose bot, which team, which scopes), the app
token for Socket Mode, and the signing secret."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.doctor import text
from bot.doctor.check import Check
from bot.doctor.needs import Needs
from bot.doctor.scopes import needed_scopes
from bot.doctor.slack_api import call, slack_client
from bot.settings import Settings


@dataclass(frozen=True)
class Identity:
    """Who the bot token speaks for, and the scopes Slack says it carries (None: not said)."""

    user: str
    user_id: str
    team: str
    team_id: str
    scopes: frozenset[str] | None


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return getter().strip() if getter else ""


def check_token(settings: Settings, client: WebClient) -> tuple[Check, Identity | None]:
    """`auth.test` with SLACK_BOT_TOKEN; its answer's `x-oauth-scopes` are the granted scopes."""
    if not _secret(settings.slack_bot_token):
        return text.token_missing(), None
    reply = call(client, "auth.test")
    if reply.unreachable is not None:
        return text.token_unreachable(settings.slack_api_url, reply.unreachable), None
    if reply.error is not None:
        return text.token_refused(reply.error), None
    data = reply.data
    user, user_id = str(data.get("user") or "?"), str(data.get("user_id") or "?")
    if not data.get("bot_id"):
        return text.token_not_a_bot(user), None
    header = reply.headers.get("x-oauth-scopes")
    scopes = frozenset(s.strip() for s in header.split(",") if s.strip()) if header is not None else None
    identity = Identity(user, user_id, str(data.get("team") or "?"), str(data.get("team_id") or "?"), scopes)
    return text.token_ok(identity.user, identity.user_id, identity.team, identity.team_id), identity


def check_scopes(identity: Identity, needs: Needs) -> list[Check]:
    if identity.scopes is None:
        return [text.scopes_unknown()]
    needed = needed_scopes(needs)
    missing = [text.scope_missing(scope, need.why, need.required)
               for scope, need in needed.items() if scope not in identity.scopes]
    return missing or [text.scopes_ok(len(needed))]


def check_socket_mode(settings: Settings) -> Check:
    """With SLACK_APP_TOKEN, `apps.connections.open` must hand out a connection."""
    token = _secret(settings.slack_app_token)
    if not token:
        return text.socket_mode_off()
    if not token.startswith("xapp-"):
        return text.socket_mode_not_app_token()
    reply = call(slack_client(settings, token), "apps.connections.open")
    if reply.unreachable is not None:
        return text.socket_mode_unreachable(reply.unreachable)
    if reply.error is not None:
        return text.socket_mode_refused(reply.error)
    return text.socket_mode_ok()


def check_signing_secret(settings: Settings) -> Check:
    if _secret(settings.slack_signing_secret):
        return text.signing_secret_set()
    return text.signing_secret_missing(socket_mode=bool(_secret(settings.slack_app_token)))
