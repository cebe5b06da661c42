"""Process settings, read from the environment (and a `.env` file when present)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("debug", "info", "warning", "error")


class Settings(BaseSettings):
    """Everything Conductor reads from its environment.

    Secrets are `SecretStr` so that printing the settings never shows them.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///conductor.db")
    workflows_dir: str = Field(default="workflows")

    # Slack: declared here, used by the Slack app.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    # Seconds a Web API call may take before the client gives up on it. A post given up on may
    # still be applied by Slack: the messenger looks for it only after three of these.
    slack_timeout_seconds: float = Field(default=10.0, gt=0)
    # The messenger's budget across the whole workspace (every channel and DM): a stand-up's
    # fan-out must not flood Slack, which publishes no workspace figure for chat.postMessage.
    slack_messages_per_second: float = Field(default=50.0, gt=0)
    # Web API calls the messenger makes at once (each channel still one at a time, in order).
    slack_concurrency: int = Field(default=16, ge=1, le=64)
    escalation_channel: str | None = None
    # Slack user IDs (comma-separated) who may reload workflows from Slack.
    admins: str = ""

    port: int = 3000
    log_format: str = "text"
    # `info` (the default) writes one line per meaningful thing; `debug` brings back the
    # libraries' chatter (APScheduler's job lines, Slack's requests).
    log_level: str = "info"
    # `conductor clock` serves GET /metrics on this port when set (`conductor serve` always
    # serves it on PORT): the clock's own figures (automations, Slack's 429s) live there.
    metrics_port: int | None = None
    # `http:` steps may reach private, loopback and link-local addresses (not the cloud
    # metadata ones) when true: for a bot that calls services on its own network. Off by
    # default, since a templated url would otherwise let whoever starts a run probe inside.
    http_allow_private: bool = False

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return level


def admin_ids(settings: Settings) -> set[str]:
    return {user.strip() for user in settings.admins.split(",") if user.strip()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings` instead)."""
    return Settings()
