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
from bot.definitions.yaml_source import Path as Path_
from bot.definitions.yaml_source import load_source

WORKFLOW_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow with the file it came from and its content version."""

    workflow: Workflow
    path: str
    source: str
    version: str
    id_position: tuple[int, int] = (1, 1)

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
        salvaged = _salvage(doc.data, exc)
        if salvaged is None:
            return None, sorted(problems)
        workflow = salvaged
    problems = sorted(set(problems + WorkflowChecker(workflow, doc).run()))
    if any(p.is_error for p in problems):
        return None, problems
    id_position = doc.locate(("id",))
    return LoadedWorkflow(workflow, path, doc.text, content_version(raw), id_position), problems


def _is_declaration(path: Path_) -> bool:
    """Inputs, outputs and roles are declared once and referred to elsewhere."""
    return (len(path) >= 2 and path[0] in ("inputs", "roles")) or (
        len(path) >= 4 and path[0] == "steps" and path[2] == "outputs"
    )


def _is_load_bearing(path: Path_) -> bool:
    """Parts whose removal would change what the rest of the file means."""
    return len(path) <= 1 or (path[0] == "steps" and (len(path) == 2 or path[2] in ("id", "kind", "routes", "default", "next", "needs")))


def _placeholder(data: Any, path: Path_) -> None:
    parent = data[path[0]] if path[0] != "steps" else data["steps"][path[1]]["outputs"]
    name = path[1] if path[0] != "steps" else path[3]
    parent[name] = [] if path[0] == "roles" else "string"


def _salvage(data: Any, error: ValidationError) -> Workflow | None:
    """A workflow good enough for the cross-checks, or None.

    Shape problems are reported already; to report reference, flow and template problems in
    the same pass, a copy of the data loses the values that were refused (a declaration is
    kept under its name, as a plain field or an empty role, so references to it stay valid).
    When a refused part carries the meaning of the rest (a step, its id, where it leads),
    the cross-checks wait until the shape is right.
    """
    pruned = copy.deepcopy(data)
    for _ in range(4):
        removals: list[Path_] = []
        for err in error.errors():
            loc = tuple(err["loc"])
            if "[key]" in loc:
                return None
            path, _found = data_path(pruned, loc)
            if _is_declaration(path):
                _placeholder(pruned, path)
            elif _is_load_bearing(path):
                return None
            else:
                removals.append(path)
        for path in sorted(set(removals), key=lambda p: (len(p), [str(x).zfill(6) for x in p]), reverse=True):
            parent: Any = pruned
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
                parent.pop(path[-1])
        try:
            return Workflow.model_validate(pruned)
        except ValidationError as exc:
            error = exc
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
    where: dict[str, tuple[str, int]] = {}  # workflow id -> (file, line) where first defined
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
            line, column = loaded.id_position
            catalog.problems.append(
                Problem(path, line, column, "E009", f"workflow id `{loaded.id}` is already defined in {first_path}:{first_line}")
            )
            continue
        where[loaded.id] = (path, loaded.id_position[0])
        catalog.workflows[loaded.id] = loaded
    catalog.problems.sort()
    return catalog

