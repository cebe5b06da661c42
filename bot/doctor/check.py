"""The result of one check: its name, how it went, what was found, and how to fix a problem."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """How a check went. Only FAIL makes `conductor doctor` exit 1."""

    OK = "ok"
    NOTE = "note"  # fine, but worth knowing (Socket Mode not configured, a warning in a file)
    SKIP = "skip"  # not checked, because it cannot apply or an earlier check failed
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.level is not Level.FAIL


def passed(name: str, detail: str) -> Check:
    return Check(name, Level.OK, detail)


def failed(name: str, detail: str, fix: str | None) -> Check:
    return Check(name, Level.FAIL, detail, fix)


def noted(name: str, detail: str, fix: str | None = None) -> Check:
    return Check(name, Level.NOTE, detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, Level.SKIP, detail)
