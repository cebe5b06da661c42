"""Answering Slack: decide now, tell later.

Slack does not send a request again once it had HTTP 200 for it. Whatever a request changes
must therefore be in the database before that answer: a process killed between the answer
and the work would lose what the person did, and nobody would know. So every listener that
may change something is split in two:

- its ack function (`decide_now`) reads the request and has the engine decide (its
  transaction commits), then answers Slack;
- one lazy function (`tell_later`) makes the slow Web API calls, which change nothing: the
  private notes, and the form a button or a command opens (`views.open` needs the request's
  trigger id; a form changes nothing until it is submitted).

What is left to say travels from one half to the other in the request's context, as plain
data (`Later`): Bolt copies the context for its lazy functions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from slack_bolt import Ack, BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks.text import escape
from bot.slack.lookup import tell_privately
from bot.usecases import UseCases
from bot.usecases.results import Refused

log = logging.getLogger("conductor.slack")
LATER = "conductor_later"  # the context key `decide_now` leaves its `Later` under
DOORS = "conductor_usecases"  # the context key the use cases are found under (see `provide`)
SORRY = "Something went wrong on our side; it has been logged. Please try again."


class Asker(Protocol):
    """Whoever sent a request, and where a private note to them goes."""

    @property
    def user(self) -> str: ...

    @property
    def where(self) -> str | None:  # a channel for an ephemeral, or None for a DM
        ...


@dataclass(frozen=True)
class Note:
    """A private note: an ephemeral in `channel`, or a DM when `channel` is None."""

    user: str
    text: str
    channel: str | None = None
    blocks: tuple[dict[str, Any], ...] = ()  # Block Kit; `text` is then the notification's fallback


@dataclass(frozen=True)
class Form:
    """A modal to open with the trigger of the request that asked for it; `unable` is said
    when Slack refuses (most often the trigger expired: Slack allows 3 s)."""

    trigger_id: str
    view: dict[str, Any]
    unable: Note


@dataclass(frozen=True)
class Later:
    """What is left once the engine has decided and Slack has its answer."""

    notes: tuple[Note, ...] = ()
    form: Form | None = None

    @staticmethod
    def telling(asker: Asker, text: str) -> Later:
        return Later((Note(asker.user, text, asker.where),))

    @staticmethod
    def explaining(asker: Asker, decision: Any, said: str = "Not done: {}.") -> Later:
        """A refusal explained to `asker` (its text escaped into `said`); an accepted
        request, one seen before, or one not meant for us needs no word."""
        return Later.telling(asker, said.format(escape(decision.text))) if isinstance(decision, Refused) else Later()

    @staticmethod
    def opening(asker: Asker, trigger_id: str, view: dict[str, Any], unable: str) -> Later:
        return Later(form=Form(trigger_id, view, Note(asker.user, unable, asker.where)))


Request = TypeVar("Request", bound=Asker)


def acknowledge(ack: Ack) -> None:
    """Answer Slack at once, for listeners that change nothing (their lazy functions work)."""
    ack()


Decide = Callable[[Request, UseCases], Later]


class provide(Middleware):
    """A Bolt middleware that hands every listener the use cases (in its context), so
    listeners are plain module-level functions that depend on the use cases and nothing more.
    Class-based, as the payload guards are: Bolt's function middleware would first convert
    the body for every listener argument, which fails on the malformed shapes the guards
    exist to refuse."""

    def __init__(self, doors: UseCases):
        self.doors = doors

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        req.context[DOORS] = self.doors
        return next()


def decide_now(what: str, read: Callable[[dict[str, Any]], Request | None],
               decide: Decide[Request]) -> Callable[..., None]:
    """Bolt's ack function: `read` the request (None: nothing for us), `decide` it, then
    answer. An error is logged and the person gets a short apology: never a traceback, and
    never a 500, which would only make Slack show its own error."""

    def ack_function(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        later = Later()
        request = None
        try:
            request = read(body)
            if request is not None:
                later = decide(request, context[DOORS])
        except Exception:  # whatever it was, the person hears of it and the log has the rest
            log.exception("%s failed", what)
            later = Later.telling(request, SORRY) if request is not None else Later()
        context[LATER] = later
        ack()

    return ack_function


def tell_later(client: WebClient, context: BoltContext) -> None:
    """Bolt's lazy function: open the form and send the notes `decide_now` left."""
    later = context.get(LATER)
    if not isinstance(later, Later):
        return
    if later.form is not None:
        try:
            client.views_open(trigger_id=later.form.trigger_id, view=later.form.view)
        except SlackApiError as exc:
            log.warning("could not open a form for %s: %s", later.form.unable.user, exc.response.get("error"))
            later = Later((*later.notes, later.form.unable))
    for note in later.notes:
        tell_privately(client, note.user, note.text, note.channel, blocks=list(note.blocks) or None)


def decide_now_tell_later(listen: Callable[..., Any], what: str, read: Callable[[dict[str, Any]], Request | None],
                          decide: Decide[Request]) -> None:
    """Register the two halves on `listen` (`app.action(...)`, `app.command(...)`, ...)."""
    listen(ack=decide_now(what, read, decide), lazy=[tell_later])
