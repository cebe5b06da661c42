"""The crash-soak suite: `conductor serve` killed again and again while runs go on."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: kills and restarts a real `conductor serve` while driving runs (SOAK_RUNS, SOAK_KILLS, SOAK_SEED)"
    )
