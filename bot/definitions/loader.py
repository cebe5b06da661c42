"""Load workflow files: every problem of every file at once, and a catalog of the good ones.

A file with any error is left out of the catalog as a whole (never half-loaded); warnings do
not stop a file. The version of a workflow is the SHA-256 of its file, so a run can stay on the
exact definition it started with.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.definitions.checks import WorkflowChecker
from bot.definitions.problems import Problem
from bot.definitions.pydantic_errors import data_path, problems_from_validation
from bot.definitions.workflow import Workflow
from bot.definitions.yaml_source import load_source

WORKFLOW_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow with the file it came from and its content version."""

    workflow: Workflow
    path: str
    source: str
    version: str
    id_line: int = 1

    @property
    def id(self) -> str:
        return self.workflow.id


@dataclass
class Catalog:
    """The result of loading a set of files."""

    workflows: dict[str, LoadedWorkflow] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def content_version(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def load_bytes(path: str, raw: bytes) -> tuple[LoadedWorkflow | None, list[Problem]]:
    """Check one file's content; the workflow is returned only when it has no error."""
    doc, problems = load_source(path, raw)
    if doc is None:
        return None, problems
    try:
        workflow = Workflow.model_validate(doc.data)
    except ValidationError as exc:
        problems = problems + problems_from_validation(doc, exc, Workflow)
        workflow = _without_unknown_keys(doc.data, exc)
        if workflow is None:
            return None, sorted(problems)
    problems = sorted(set(problems + WorkflowChecker(workflow, doc).run()))
    if any(p.is_error for p in problems):
        return None, problems
    id_line = doc.locate(("id",))[0]
    return LoadedWorkflow(workflow, path, doc.text, content_version(raw), id_line), problems


def _without_unknown_keys(data: Any, error: ValidationError) -> Workflow | None:
    """When the only shape errors are unknown keys (typos, mostly), the rest of the file can
    still be checked: drop those keys from a copy and validate again."""
    if any(err["type"] != "extra_forbidden" for err in error.errors()):
        return None
    pruned = copy.deepcopy(data)
    for err in error.errors():
        path, complete = data_path(pruned, tuple(err["loc"]))
        if not complete or not path:
            return None
        parent: Any = pruned
        for part in path[:-1]:
            parent = parent[part]
        parent.pop(path[-1], None)
    try:
        return Workflow.model_validate(pruned)
    except ValidationError:
        return None


def workflow_files(paths: list[str]) -> list[str]:
    """The workflow files named, or found directly inside the folders named, sorted."""
    found: list[str] = []
    for given in paths:
        if os.path.isdir(given):
            found.extend(
                str(p) for p in sorted(Path(given).iterdir())
                if p.is_file() and p.suffix in WORKFLOW_SUFFIXES
            )
        else:
            found.append(given)
    return found


def load_paths(paths: list[str]) -> Catalog:
    """Load every file (or folder of files); all problems are collected, none raised."""
    catalog = Catalog()
    where: dict[str, tuple[str, int]] = {}
    for path in workflow_files(paths):
        catalog.files += 1
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            catalog.problems.append(Problem(path, 1, 1, "E001", f"cannot read the file: {exc.strerror or exc}"))
            continue
        loaded, problems = load_bytes(path, raw)
        catalog.problems.extend(problems)
        if loaded is None:
            continue
        if loaded.id in where:
            first_path, first_line = where[loaded.id]
            catalog.problems.append(
                Problem(path, loaded.id_line, 1, "E009", f"workflow id `{loaded.id}` is already defined in {first_path}:{first_line}")
            )
            continue
        where[loaded.id] = (path, loaded.id_line)
        catalog.workflows[loaded.id] = loaded
    catalog.problems.sort()
    return catalog

