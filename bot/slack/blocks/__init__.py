"""Block Kit for Conductor: pure functions from engine data to Slack messages and views.

Nothing here does I/O: every function returns plain dicts and lists ready for the Web API.
"""

from bot.slack.blocks.actions import action_value, parse_action_value, parse_metadata
from bot.slack.blocks.forms import (
    DIAGNOSE_FIELDS,
    REASSIGN_FIELDS,
    REJECT_FIELDS,
    diagnose_form,
    reassign_form,
    reject_form,
    standup_fields,
    standup_form,
    start_form,
    step_form,
)
from bot.slack.blocks.header import HeaderInfo, header_info, render_header
from bot.slack.blocks.home import render_home
from bot.slack.blocks.inputs import parse_form_values
from bot.slack.blocks.messages import render_message
from bot.slack.blocks.outbox import render_outbox
from bot.slack.blocks.text import escape, mention, truncate

__all__ = [
    "DIAGNOSE_FIELDS",
    "REASSIGN_FIELDS",
    "REJECT_FIELDS",
    "HeaderInfo",
    "action_value",
    "diagnose_form",
    "escape",
    "header_info",
    "mention",
    "parse_action_value",
    "parse_form_values",
    "parse_metadata",
    "reassign_form",
    "reject_form",
    "render_header",
    "render_home",
    "render_message",
    "render_outbox",
    "standup_fields",
    "standup_form",
    "start_form",
    "step_form",
    "truncate",
]
