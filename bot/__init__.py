"""Conductor: a Slack bot that conducts hybrid workflows of people and automations."""

__version__ = "0.1.0"
