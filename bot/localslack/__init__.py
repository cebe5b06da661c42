"""A local Slack: the Web API Conductor talks to when there is no workspace."""

from bot.localslack.tiers import METHOD_TIERS, TIER_PER_MINUTE, per_minute
from bot.localslack.web_api import Call, LocalSlack, SlackError

__all__ = ["METHOD_TIERS", "TIER_PER_MINUTE", "Call", "LocalSlack", "SlackError", "per_minute"]
