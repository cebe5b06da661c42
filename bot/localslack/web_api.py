"""A local Slack Web API on a real HTTP server (127.0.0.1, random port, background thread).

It stands in for Slack wherever there is no workspace: `conductor shell` talks to it, and so
do the tests.

Point `WebClient(base_url=fake.url)` (or `SLACK_API_URL`) at it. It records every call, keeps
the conversation per channel, answers like Slack (ids, increasing `ts`, errors, the granted
scopes in `x-oauth-scopes`, `missing_scope`), pages history and threads as Slack does
(`bot.localslack.history`), rate-limits `chat.postMessage` like Slack (and, with `tiers=`,
every other method by Slack's published tiers: `bot.localslack.tiers`), and fails, hangs or
goes down on demand:

    with LocalSlack(users={"U1": {"real_name": "Ana", "tz": "Europe/Lisbon"}}) as fake:
        WebClient(token="xoxb-test", base_url=fake.url).chat_postMessage(channel="#a", text="hi")
        assert fake.messages("#a")[0]["text"] == "hi"

Latency: it takes as long as Slack does when asked. `latency=0.2` answers every call after
0.2 s; `latency=(0.05, 0.4)` draws each call's time uniformly between 0.05 s and 0.4 s;
`latency={"chat.postMessage": (0.1, 0.3), "*": 0.05}` sets it per method (`"*"`: every method
without its own figure). The draws come from a `random.Random(seed)` (`seed=`, a fixed default),
so the same calls in the same order take the same times in every run. `set_latency` changes
it while serving and takes the same forms.

A call answered too late is still applied, as Slack sometimes applies a call whose answer the
client never saw: a call held by `hang_next` or by latency longer than the client's timeout is
carried out when the hold ends, though the client has given up; the answer then finds no one
to read it, and the call says so (`Call.delivered` is False) without an error from the server.
A client that gave up on a post must look for it before posting again.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from bot.localslack.channels import ChannelMethods, stable_id
from bot.localslack.errors import SlackError
from bot.localslack.history import HistoryMethods
from bot.localslack.http import LocalServer, handler_for
from bot.localslack.methods import WebApiMethods
from bot.localslack.pacing import DEFAULT_SEED, Bucket, Latency, LatencySpec
from bot.localslack.people import PeopleMethods
from bot.localslack.scopes import manifest_scopes, missing_for
from bot.localslack.tiers import TierLimits, TierSetting

# Methods an app-level token (`xapp-`) may call; it may call nothing else, and a bot token
# may not call these.
APP_TOKEN_METHODS = {"apps.connections.open"}
APP_TOKEN_SCOPES = ("connections:write",)


@dataclass
class Call:
    """One request: the API method, its parameters, request headers (lower-cased names), the
    wall-clock time it arrived, the HTTP status it was answered with, the seconds it was held
    before being handled (its latency, plus any `hang_next`), and whether the answer reached
    the client (False: the client had given up; the call was applied all the same)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = field(default=0, compare=False)
    held: float = field(default=0.0, compare=False)
    delivered: bool | None = field(default=None, compare=False)  # None: not yet answered


class LocalSlack(WebApiMethods, HistoryMethods, ChannelMethods, PeopleMethods):
    """The local Web API. Start with `start()` or `with`; stop with `close()`.

    rate / burst: per channel, `chat.postMessage` may be called `rate` times per second, plus
    `burst` extra calls in a burst. workspace_rate: calls per second across all channels
    (None: no workspace limit). token: the one accepted bot token (None: any `xoxb-` token).
    scopes: what the workspace granted the bot (None: what the app's manifest asks for); a
    method that needs another answers `missing_scope`. app_token: the one accepted app-level
    token for Socket Mode (None: any `xapp-` token). socket_url: what `apps.connections.open`
    hands out, set by a local Socket Mode server when one is attached. group_handles: the
    `@handle` of user groups (default: the id in lower case). group_users_cap: how many members
    `usergroups.list` lists per group (None: all). latency: how long a call takes before it is
    answered: seconds, a `(low, high)` range drawn from uniformly for each call, or a mapping of
    method -> either (`"*"`: every other method); see `set_latency`. seed: seeds the draws, so a
    run repeats (None: a fresh seed each time). tiers: Slack's per-method rate-limit tiers
    (`bot.localslack.tiers`): False (default) none, True Slack's published table, or a mapping
    of method -> calls a minute overriding or adding to that table; `per_minute(method)` says
    what applies.
    """

    def __init__(self, *, users: dict[str, dict[str, Any]] | None = None,
                 groups: dict[str, list[str]] | None = None, token: str | None = None,
                 rate: float = 1.0, burst: int = 1, workspace_rate: float | None = None,
                 team_id: str = "T0FAKETEAM", bot_user_id: str = "U0FAKEBOT",
                 bot_id: str = "B0FAKEBOT", team_name: str = "Local", bot_name: str = "conductor",
                 scopes: Iterable[str] | None = None, app_token: str | None = None,
                 socket_url: str | None = None, group_handles: dict[str, str] | None = None,
                 group_users_cap: int | None = None, latency: LatencySpec = 0.0,
                 seed: int | None = DEFAULT_SEED, tiers: TierSetting = False):
        self.users = dict(users or {})
        self.groups = {k: list(v) for k, v in (groups or {}).items()}
        self.group_handles = dict(group_handles or {})
        self.group_users_cap = group_users_cap
        self.latency = Latency(latency, seed)
        self._tiers = TierLimits(tiers)
        self.token, self.rate, self.burst = token, rate, burst
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.team_name, self.bot_name = team_name, bot_name
        self.scopes: set[str] = set(manifest_scopes() if scopes is None else scopes)
        self.app_token = app_token
        self.socket_url: str | None = socket_url
        self._lock = threading.RLock()
        self._current = threading.local()
        self._closing = threading.Event()
        self._calls: list[Call] = []
        self._channels: dict[str, dict[str, Any]] = {}  # id -> conversation object
        self._names: dict[str, str] = {}  # channel name -> id
        self._messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._views: dict[str, dict[str, Any]] = {}
        self._buckets: dict[str, Bucket] = {}
        self._workspace = Bucket(workspace_rate, max(1.0, workspace_rate)) if workspace_rate else None
        self._failures: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
        self._hangs: dict[str, list[float]] = defaultdict(list)
        self._down = False
        self._last_ts_us = 0
        self._view_seq = 0
        self.ratelimited_count = 0
        self._server: LocalServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("already started")
        self._closing.clear()
        self._server = LocalServer(("127.0.0.1", 0), handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; requests still hanging are released. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            self._closing.set()
            server.shutdown()
            server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_id(self, channel: str) -> str:
        with self._lock:
            return self._resolve(channel)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a conversation (top level and replies), oldest first; copies."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._messages.get(self._resolve(channel), [])]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """A thread: its parent message, then the replies."""
        return [m for m in self.messages(channel) if thread_ts in (m["ts"], m["thread_ts"])]

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._views.get(view_id)

    def fail_next(self, method: str, times: int = 1, status: int = 500, error: str | None = None):
        """Answer the next `times` calls of `method` with `status` (and `error`)."""
        with self._lock:
            self._failures[method].extend([(status, error)] * times)

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the next `times` calls of `method` by `seconds`. A call is carried out when
        its delay ends, whether or not the client is still waiting for the answer."""
        with self._lock:
            self._hangs[method].extend([seconds] * times)

    def set_latency(self, seconds: LatencySpec, method: str = "*") -> None:
        """From now on, answer `method` (`"*"`: every method without its own) after `seconds`:
        a number, a `(low, high)` range, or a mapping of method -> either (each method it names).
        Unlike `hang_next`, it stays until changed: the figures of a slow Slack come from it."""
        self.latency.set(seconds, method)

    def per_minute(self, method: str) -> float | None:
        """The calls a minute Slack's tiers allow `method` here (None: not tier-limited, as
        every method is unless `tiers` was given)."""
        return self._tiers.per_minute.get(method)

    def set_down(self, down: bool = True) -> None:
        """While down, every call is answered 503."""
        self._down = down

    def _handle(self, method: str, params: dict[str, Any], headers: dict[str, str]):
        """Record a call and answer it: (HTTP status, extra headers, JSON body)."""
        call = Call(method, params, headers, time.time())
        self._current.call = call  # each request has its own thread: see `_answered`
        with self._lock:
            self._calls.append(call)
            hang = self._hangs[method].pop(0) if self._hangs.get(method) else 0.0
            hang += self.latency.draw(method)
            call.held = hang
            failure = self._failures[method].pop(0) if self._failures.get(method) else None
        if hang:
            self._closing.wait(hang)  # released at once by close()
        granted: dict[str, str] = {}
        try:
            if self._down:
                raise SlackError("service_unavailable", 503)
            if failure is not None:
                status, error = failure
                default = "ratelimited" if status == 429 else "internal_error"
                raise SlackError(error or default, status, {"Retry-After": "1"} if status == 429 else {})
            scopes = self._authenticate(method, params, headers)
            granted = {"x-oauth-scopes": ",".join(sorted(scopes))}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            with self._lock:
                self._tiers.take(method)
                self._require(method, [])
                status, extra, body = 200, dict(granted), {"ok": True, **handler(params)}
        except SlackError as e:
            status, extra = e.status, {**granted, **e.headers}
            body = {"ok": False, "error": e.error, **e.fields}
        except Exception as e:  # noqa: BLE001 -- a bug here or a bad directory entry
            status, extra, body = 500, {}, {"ok": False, "error": f"fake_slack_error: {e!r}"}
        with self._lock:
            call.status = status
            self.ratelimited_count += status == 429
        return status, extra, body

    def _answered(self, delivered: bool) -> None:
        """The HTTP side wrote this thread's answer (True) or found the client gone (False)."""
        call = getattr(self._current, "call", None)
        if call is not None:
            with self._lock:
                call.delivered = delivered
            self._current.call = None

    def _authenticate(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> set[str]:
        """Check the call's token; returns the scopes it carries."""
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("token")
        if not token:
            raise SlackError("not_authed")
        if token.startswith("xapp-"):
            if self.app_token is not None and token != self.app_token:
                raise SlackError("invalid_auth")
            if method not in APP_TOKEN_METHODS:
                raise SlackError("not_allowed_token_type")
            return set(APP_TOKEN_SCOPES)
        accepted = token == self.token if self.token is not None else token.startswith("xoxb-")
        if not accepted:
            raise SlackError("invalid_auth")
        if method in APP_TOKEN_METHODS:
            raise SlackError("not_allowed_token_type")
        return self.scopes

    def _require(self, method: str, kinds: list[str]) -> None:
        if method in APP_TOKEN_METHODS:
            return
        missing = missing_for(method, kinds, self.scopes)
        if missing:
            raise SlackError("missing_scope", fields={"needed": ",".join(missing),
                                                      "provided": ",".join(sorted(self.scopes))})

    def _resolve(self, channel: Any) -> str:
        """The conversation id for `#name`, a user id (their DM) or a conversation id, as
        `chat.postMessage` takes them (and the helpers the tests call)."""
        if not channel or not isinstance(channel, str):
            raise SlackError("channel_not_found")
        if channel[0] in "UW" and channel[1:].isalnum() and channel.isupper():
            return self._open_dm(channel)
        if channel[0] in "CGD" and channel[1:].isalnum() and channel.isupper():
            self._channels.setdefault(channel, {"id": channel, "is_channel": channel[0] == "C",
                                                "is_im": channel[0] == "D",
                                                "is_private": channel[0] == "G", "is_member": True})
            return channel
        name = channel.lstrip("#")
        if name in self._names:
            return self._names[name]
        cid = stable_id("C", name)
        self._channels.setdefault(cid, {"id": cid, "name": name, "is_channel": True,
                                        "is_im": False, "is_private": False, "is_member": True})
        self._names[name] = cid
        return cid

    def _by_id(self, channel: Any) -> str:
        """A conversation id, as the methods that take only ids want it (`conversations.history`,
        `conversations.replies`, `chat.update`, `reactions.add`): Slack answers a `#name`, a
        bare name or a user id there `channel_not_found`."""
        if (isinstance(channel, str) and len(channel) > 1 and channel[0] in "CGD"
                and channel[1:].isalnum() and channel.isupper()):
            return self._resolve(channel)
        raise SlackError("channel_not_found")

    def _open_dm(self, user: str) -> str:
        did = stable_id("D", user)
        self._channels.setdefault(did, {"id": did, "is_channel": False, "is_im": True,
                                        "user": user, "is_open": True})
        return did

    def _next_ts(self) -> str:
        self._last_ts_us = max(int(time.time() * 1_000_000), self._last_ts_us + 100)
        sec, us = divmod(self._last_ts_us, 1_000_000)
        return f"{sec}.{us:06d}"

    def _find(self, channel: str, ts: Any) -> dict[str, Any]:
        found = [m for m in self._messages.get(channel, []) if m["ts"] == ts]
        if not found:
            raise SlackError("message_not_found")
        return found[0]

    def _check_rate(self, channel: str) -> None:
        buckets = [self._buckets.setdefault(channel, Bucket(self.rate, 1 + self.burst))]
        buckets += [self._workspace] if self._workspace else []
        wait = max(b.wait() for b in buckets)
        if wait > 0:
            raise SlackError("ratelimited", 429, {"Retry-After": str(max(1, math.ceil(wait)))})
        for bucket in buckets:
            bucket.tokens -= 1
