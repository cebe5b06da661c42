"""The run and step a piece of work is for, carried into its log lines.

`contextvars` follow the work within a thread (and into asyncio tasks), so a worker sets them
once around one automation and every line logged meanwhile, in any module, names the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_RUN_ID: ContextVar[str | None] = ContextVar("conductor_run_id", default=None)
_STEP_ID: ContextVar[str | None] = ContextVar("conductor_step_id", default=None)


@contextmanager
def log_context(*, run_id: str | None = None, step_id: str | None = None) -> Iterator[None]:
    """Within the block, log lines carry `run_id` (and `step_id` when given)."""
    run_token = _RUN_ID.set(run_id)
    step_token = _STEP_ID.set(step_id)
    try:
        yield
    finally:
        _STEP_ID.reset(step_token)
        _RUN_ID.reset(run_token)


def current_ids() -> dict[str, str]:
    """The ids of the work in progress: `{"run_id": ..., "step_id": ...}`, those that are known."""
    ids = {"run_id": _RUN_ID.get(), "step_id": _STEP_ID.get()}
    return {name: value for name, value in ids.items() if value}


class ContextFilter(logging.Filter):
    """Stamps `run_id` / `step_id` of the work in progress on each record (an `extra=` given by
    the caller wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_ids().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True
