"""The use cases: the one door through which Slack, the shell, webhooks, the command line and
the clock change anything (and read what people may see).

Each use case decides permission in the engine, is audited whether accepted or refused, takes
time from the service's clock, and returns a typed result (`results`) that says what the
person is told. Adapters translate their input into a call here and render the result; they
never reach past this door into the engine service or the store.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.definitions.loader import Catalog
from bot.engine.service import ConductorService
from bot.usecases.admin import AdminCases
from bot.usecases.insights import InsightCases
from bot.usecases.people import PeopleCases
from bot.usecases.runs import RunCases
from bot.usecases.talk import TalkCases


class UseCases(RunCases, TalkCases, PeopleCases, AdminCases, InsightCases):
    """Every use case, over one engine service."""

    def __init__(self, service: ConductorService, *, admins: Callable[[], set[str]] = set,
                 reload: Callable[[], Catalog] | None = None):
        super().__init__(service, admins=admins, reload=reload)

    def __deepcopy__(self, memo: dict[int, object]) -> UseCases:
        # Bolt deep-copies a request's context for its lazy listeners; the use cases are the
        # process's one door, not request data, so every copy is this same object.
        return self


__all__ = ["UseCases"]
