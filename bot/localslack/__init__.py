"""A local Slack: the Web API Conductor talks to when there is no workspace."""

from bot.localslack.web_api import Call, LocalSlack, SlackError

__all__ = ["Call", "LocalSlack", "SlackError"]
