"""What a Python automation (`uses: package.module:function`) receives.

The function is called with one `AutomationContext` and returns a mapping of outputs, which
the engine validates against the step's declared `outputs` before the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AutomationContext:
    """Everything an automation may use; nothing else of the run is reachable from here."""

    run_id: str
    step_id: str
    attempt: int
    # Stable across retries of the same step attempt: pass it to external systems so that
    # a repeated call has no second effect.
    idempotency_key: str
    inputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step id -> outputs
    params: dict[str, Any] = field(default_factory=dict)  # the step's rendered `with:`
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("conductor.automation"))


class AutomationError(Exception):
    """Raise to fail the step with a message people can read.

    `retryable=False` skips the remaining retries and hands the step to a person at once
    (use it for errors that another try cannot fix, such as invalid data).
    """

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable
