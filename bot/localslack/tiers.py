"""Slack's published rate-limit tiers for the Web API methods the local Slack answers.

Slack limits each method per workspace (per app) by its tier: Tier 1 about 1 call a minute,
Tier 2 20, Tier 3 50, Tier 4 100, and tolerates bursts. Here each limited method has a token
bucket refilled at its rate and holding one minute's worth; a call finding it empty is answered
HTTP 429 `ratelimited` with `Retry-After` in whole seconds, as Slack answers it.

`chat.postMessage` is not tiered (Slack's special limit, about one message a second per
channel, is the local Slack's own `rate`/`burst`/`workspace_rate`); `auth.test` and
`apps.connections.open` are treated as unlimited. A benchmark can read its floor from here:
`per_minute(method)` is the calls a minute a method may make (None: not tier-limited).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bot.localslack.errors import SlackError
from bot.localslack.pacing import Bucket

TIER_PER_MINUTE: dict[int, float] = {1: 1, 2: 20, 3: 50, 4: 100}

# method -> tier, from each method's page in Slack's documentation.
METHOD_TIERS: dict[str, int] = {
    "users.list": 2,
    "users.info": 4,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "conversations.list": 2,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.open": 3,
    "conversations.join": 3,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "reactions.add": 3,
    "views.open": 4,
    "views.update": 4,
    "views.publish": 4,
}

# Not tier-limited here: auth.test is "special" in Slack's table (generous), Socket Mode's
# apps.connections.open is Tier 1 but allows bursts, and chat.postMessage has its own limit.
UNLIMITED = frozenset({"auth.test", "apps.connections.open", "chat.postMessage"})

TierSetting = bool | Mapping[str, float]


def published_per_minute() -> dict[str, float]:
    """Slack's published calls a minute for every tier-limited method."""
    return {method: TIER_PER_MINUTE[tier] for method, tier in METHOD_TIERS.items()}


def limits_for(tiers: TierSetting) -> dict[str, float]:
    """method -> calls a minute for a `tiers=` setting: False none, True Slack's published
    table, a mapping that table with the mapping's methods overridden or added."""
    if tiers is False:
        return {}
    found = published_per_minute()
    if isinstance(tiers, Mapping):
        for method, calls in tiers.items():
            if float(calls) <= 0:
                raise ValueError(f"{method}: calls a minute must be positive, not {calls!r}")
            found[method] = float(calls)
    return found


def per_minute(method: str, tiers: TierSetting = True) -> float | None:
    """The calls a minute `method` may make under `tiers` (None: not tier-limited)."""
    return limits_for(tiers).get(method)


class TierLimits:
    """One workspace's buckets, one per tier-limited method."""

    def __init__(self, tiers: TierSetting = False):
        self.per_minute = limits_for(tiers)
        self._buckets: dict[str, Bucket] = {}

    def take(self, method: str) -> None:
        """Spend one of `method`'s calls, or raise Slack's 429 when none is left."""
        calls = self.per_minute.get(method)
        if calls is None:
            return
        bucket = self._buckets.get(method)
        if bucket is None:
            bucket = self._buckets[method] = Bucket(calls / 60.0, max(1.0, calls))
        wait = bucket.wait()
        if wait > 0:
            raise SlackError("ratelimited", 429, {"Retry-After": str(max(1, math.ceil(wait)))})
        bucket.tokens -= 1
