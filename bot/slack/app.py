"""The Bolt app: built from settings, listeners registered per payload kind."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.slack import actions, commands, events, views


def build_app(runtime: Runtime, client: WebClient) -> App:
    """A Bolt app that verifies Slack's signatures and acknowledges before working.

    `process_before_response=False`: listeners run on Bolt's thread pool and the HTTP answer
    goes back as soon as they `ack()`, well inside Slack's three seconds.
    """
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise ValueError("SLACK_SIGNING_SECRET is not set: Slack's requests could not be verified")
    app = App(
        client=client,
        signing_secret=secret.get_secret_value(),
        request_verification_enabled=True,
        token_verification_enabled=False,  # the token is checked by the first API call instead
        process_before_response=False,
    )
    for listeners in (commands, actions, views, events):
        listeners.register(app, runtime)
    return app
