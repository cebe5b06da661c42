"""The Bolt app: built from settings, listeners registered per payload kind."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.observability.logs import quieted
from bot.runtime import Runtime
from bot.slack import actions, commands, events, views
from bot.slack.acks import provide
from bot.slack.events import people

LATER_THREADS = 32  # the work after the answer: private notes, forms opened, messages in DMs


def build_app(runtime: Runtime, client: WebClient, *, listener_executor: Executor | None = None,
              socket_mode: bool = False) -> App:
    """A Bolt app that verifies Slack's signatures, decides, then answers.

    Over Socket Mode (`socket_mode`) Slack signs nothing: the requests arrive on a WebSocket
    the app opened itself with its app-level token, so no signing secret is needed.

    Listeners are split the way Bolt intends for this: the `ack` function has the engine decide
    (the change is committed before Slack hears 200, so a crash cannot lose an answered
    request) and then answers; `lazy` functions open forms and send private notes afterwards on
    Bolt's thread pool (see `bot.slack.acks`). (With `process_before_response=False` Bolt would
    instead poll for the ack every 10 ms, which adds about 10 ms to every answer.) Form
    submissions are answered after the engine decides, so that refused fields can be shown in
    the form; that decision takes milliseconds.

    `listener_executor` runs the lazy functions (by default a pool of LATER_THREADS: each
    waits on Slack, 100–300 ms a call, so Bolt's own five would send about 30 notes a second
    and let a form's trigger expire behind them); the shell passes one that can tell when all
    the work asked for is done.
    """
    secret = runtime.settings.slack_signing_secret
    if secret is None and not socket_mode:
        raise ValueError("SLACK_SIGNING_SECRET is not set: Slack's requests could not be verified")
    with quieted("slack_bolt.App"):  # Bolt warns that SLACK_BOT_TOKEN is unused: `client` carries it
        app = App(
            client=client,
            signing_secret=secret.get_secret_value() if secret is not None else "",
            request_verification_enabled=not socket_mode,
            token_verification_enabled=False,  # the token is checked by the first API call instead
            process_before_response=True,
            listener_executor=listener_executor or ThreadPoolExecutor(LATER_THREADS, thread_name_prefix="slack-later"),
        )
    app.use(provide(runtime.usecases))
    for listeners in (commands, actions, views, events):
        listeners.register(app)
    people.register(app, runtime)  # Slack's news of people refreshes the tables the engine reads
    return app


