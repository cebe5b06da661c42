"""Checks that need the whole workflow: references, flow, templates, secrets, the diagnostic.

Pydantic checks each value on its own; these checks relate values to each other. They run on
a workflow that already has the right shape and report every problem, positioned in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.definitions.check_commands import check_run_commands
from bot.definitions.fields import FieldSpec
from bot.definitions.flow import FlowGraph, build_flow
from bot.definitions.four_questions import recommend
from bot.definitions.problems import Problem
from bot.definitions.pydantic_errors import did_you_mean
from bot.definitions.steps import END, ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.templates import (
    ROOT_NAMES,
    RUN_ATTRIBUTES,
    STEP_ATTRIBUTES,
    WORKFLOW_ATTRIBUTES,
    is_template,
    parse,
)
from bot.definitions.values import SECRET_REF, SLACK_USER_OR_GROUP, TIME_PATTERN
from bot.definitions.workflow import BUILTIN_ROLES, PERMISSION_ACTIONS, Workflow
from bot.definitions.yaml_source import Path, SourceDoc


class WorkflowChecker:
    def __init__(self, workflow: Workflow, doc: SourceDoc):
        self.workflow = workflow
        self.doc = doc
        self.problems: list[Problem] = []
        self.step_ids = [step.id for step in workflow.steps]
        self.flow: FlowGraph = build_flow(workflow)

    def report(self, path: Path, code: str, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, code, message, key=key))

    def run(self) -> list[Problem]:
        self.check_step_ids()
        self.check_step_references()
        self.check_roles()
        self.check_phases()
        self.check_flow()
        self.check_templates()
        self.check_http_hosts()
        check_run_commands(self)
        self.check_start_times()
        self.check_diagnostics()
        return sorted(set(self.problems))

    # --- steps -------------------------------------------------------------------------------
    def check_step_ids(self) -> None:
        seen: dict[str, int] = {}
        for index, step in enumerate(self.workflow.steps):
            if step.id == END:
                self.report(("steps", index, "id"), "E104", "`end` is reserved for `goto: end`: give the step another id")
            if step.id in seen:
                line = self.doc.locate(("steps", seen[step.id], "id"))[0]
                self.report(("steps", index, "id"), "E201", f"step id `{step.id}` is already used on line {line}")
            else:
                seen[step.id] = index

    def _step_ref(self, path: Path, target: str | None, *, allow_end: bool) -> bool:
        if target is None or (allow_end and target == END) or target in self.step_ids:
            return True
        choices = self.step_ids + ([END] if allow_end else [])
        self.report(path, "E202", f"no step `{target}`{did_you_mean(target, choices)}")
        return False

    def check_step_references(self) -> None:
        for index, step in enumerate(self.workflow.steps):
            base: Path = ("steps", index)
            self._step_ref(base + ("next",), step.next, allow_end=True)
            for n, needed in enumerate(step.needs):
                path = base + ("needs",) + ((n,) if isinstance(self._raw(base + ("needs",)), list) else ())
                if self._step_ref(path, needed, allow_end=False) and self.step_ids.index(needed) >= index:
                    self.report(path, "E205", f"`{step.id}` cannot need `{needed}`: it is not an earlier step")
            if isinstance(step, GateStep):
                for r, route in enumerate(step.routes):
                    self._step_ref(base + ("routes", r, "goto"), route.goto, allow_end=True)
                self._step_ref(base + ("default",), step.default, allow_end=True)
            if (isinstance(step, ApprovalStep) and step.on_reject is not None
                    and self._step_ref(base + ("on_reject",), step.on_reject, allow_end=False)):
                if self.step_ids.index(step.on_reject) >= index:
                    self.report(
                        base + ("on_reject",), "E206",
                        f"`on_reject: {step.on_reject}` must name a step before `{step.id}`",
                    )
                elif step.on_reject not in self.flow.ancestors().get(step.id, set()):
                    self.report(
                        base + ("on_reject",), "E206",
                        f"`on_reject: {step.on_reject}` must name a step that `{step.id}` follows from "
                        "(on a parallel branch, redoing it would never ask this approval again)",
                    )

    def _raw(self, path: Path) -> Any:
        value: Any = self.doc.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    # --- roles and phases --------------------------------------------------------------------
    def _role_ref(self, path: Path, name: str | None, *, allow_ids: bool = False) -> None:
        if name is None or name in self.workflow.roles or name in BUILTIN_ROLES:
            return
        if allow_ids and SLACK_USER_OR_GROUP.match(name):
            return
        choices = list(self.workflow.roles) + list(BUILTIN_ROLES)
        self.report(path, "E203", f"no role `{name}`: declare it under `roles`{did_you_mean(name, choices)}")

    def _role_list(self, path: Path, names: list[str], *, allow_ids: bool = False) -> None:
        listed = isinstance(self._raw(path), list)
        for n, name in enumerate(names):
            self._role_ref(path + ((n,) if listed else ()), name, allow_ids=allow_ids)

    def check_roles(self) -> None:
        self._role_ref(("conductor",), self.workflow.conductor)
        for action in PERMISSION_ACTIONS:
            names = getattr(self.workflow.permissions, action)
            if names is not None:
                self._role_list(("permissions", action), names)
        for index, step in enumerate(self.workflow.steps):
            base: Path = ("steps", index)
            if isinstance(step, TaskStep) and not is_template(step.ask):
                self._role_ref(base + ("ask",), step.ask, allow_ids=True)
            if isinstance(step, ApprovalStep):
                self._role_list(base + ("approvers",), step.approvers, allow_ids=True)
            if isinstance(step, StandupStep):
                self._role_list(base + ("participants",), step.participants, allow_ids=True)
            if isinstance(step, GateStep) and step.decide is not None and not is_template(step.decide):
                self._role_ref(base + ("decide",), step.decide, allow_ids=True)
            self._role_ref(base + ("escalate_to",), getattr(step, "escalate_to", None))
            self._role_ref(base + ("review", "by"), step.review.by if isinstance(step, AutomationStep) and step.review else None)

    def check_phases(self) -> None:
        phases = self.workflow.phases
        seen: set[str] = set()
        for n, phase in enumerate(phases):
            if phase in seen:
                self.report(("phases", n), "E104", f"phase `{phase}` is listed twice")
            seen.add(phase)
        for index, step in enumerate(self.workflow.steps):
            if step.phase is not None and step.phase not in phases:
                hint = did_you_mean(step.phase, phases) if phases else ": declare `phases` first"
                self.report(("steps", index, "phase"), "E204", f"no phase `{step.phase}`{hint}")

    # --- flow --------------------------------------------------------------------------------
    def check_flow(self) -> None:
        if any(p.code == "E202" for p in self.problems):
            return  # a broken reference would make every flow finding a guess
        reachable = self.flow.reachable()
        can_end = self.flow.can_end()
        index_of = {step_id: i for i, step_id in reversed(list(enumerate(self.step_ids)))}
        stuck = [s for s in self.step_ids if s in reachable and s not in can_end]
        for step_id, index in sorted(index_of.items(), key=lambda item: item[1]):
            if step_id not in reachable:
                self.report(("steps", index, "id"), "W201", f"step `{step_id}` can never be reached")
        if stuck:
            # One loop is one mistake: name it once, at the step whose ways out all go back.
            closing = [s for s in stuck if all(self.flow.is_loop(e) for e in self.flow.edges if e.source == s)]
            first = (closing or stuck)[0]
            self.report(
                ("steps", index_of[first], "id"), "E207",
                f"once the run reaches `{first}` it can never end: every way out of `{first}` "
                "leads back; give it a way forward (a route, `default` or `next`)",
            )

    def _reachable_from(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.flow.successors(start))
        while todo:
            step_id = todo.pop()
            if step_id != END and step_id not in seen:
                seen.add(step_id)
                todo.extend(self.flow.successors(step_id))
        return seen

    # --- templates ---------------------------------------------------------------------------
    def check_templates(self) -> None:
        ancestors = self.flow.ancestors()
        reachable = self.flow.reachable()
        for index, step in enumerate(self.workflow.steps):
            # An unreachable step is already reported; anything may "run before" it.
            available = ancestors.get(step.id, set()) if step.id in reachable else set(self.step_ids)
            for path, text, condition, may_hold_secret in _step_texts(step, ("steps", index)):
                secret = SECRET_REF.search(text)
                if not may_hold_secret and secret:
                    self.report(
                        path, "E208",
                        f"secret `{secret.group(1)}` in `{path[-1]}` would be shown to people: "
                        "secrets may only be used in `with` (not of `conductor/post`), `run`, `env` and `http`",
                    )
                if not condition and not is_template(text):
                    continue
                uses, error = parse(text, condition=condition)
                if error:
                    prefix = "template error: " if error.code == "E301" else ""
                    self.report(path, error.code, prefix + error.message)
                    continue
                for use in uses:
                    self._check_name(path, use.root, use.attributes, step.id, available)
        for s, schedule in enumerate(self.workflow.on.schedule):
            for key, value in schedule.with_.items():
                path = ("on", "schedule", s, "with", key)
                if key not in self.workflow.inputs:
                    self.report(path, "E209", f"no input `{key}`{did_you_mean(key, list(self.workflow.inputs))}", key=True)
                elif isinstance(value, str) and is_template(value):
                    self.report(path, "E302", "scheduled inputs are fixed values, not templates")

    def _check_name(self, path: Path, root: str, attrs: tuple[str, ...], here: str, available: set[str]) -> None:
        if root not in ROOT_NAMES:
            self.report(path, "E302", f"unknown name `{root}`: use one of {', '.join(ROOT_NAMES)}{did_you_mean(root, list(ROOT_NAMES))}")
            return
        if not attrs:
            return
        first = attrs[0]
        if root == "inputs":
            if first not in self.workflow.inputs:
                self.report(path, "E209", f"no input `{first}`{did_you_mean(first, list(self.workflow.inputs))}")
        elif root == "run" and first not in RUN_ATTRIBUTES:
            self.report(path, "E302", f"unknown name `run.{first}`: use one of {', '.join(RUN_ATTRIBUTES)}")
        elif root == "workflow" and first not in WORKFLOW_ATTRIBUTES:
            self.report(path, "E302", f"unknown name `workflow.{first}`: use one of {', '.join(WORKFLOW_ATTRIBUTES)}")
        elif root == "steps":
            self._check_step_use(path, attrs, here, available)

    def _check_step_use(self, path: Path, attrs: tuple[str, ...], here: str, available: set[str]) -> None:
        step_id = attrs[0]
        if step_id not in self.step_ids:
            self.report(path, "E202", f"no step `{step_id}`{did_you_mean(step_id, self.step_ids)}")
            return
        if step_id not in available:
            self.report(path, "E303", f"`steps.{step_id}` is used in `{here}`, which can be reached before `{step_id}` has run")
            return
        if len(attrs) < 2:
            return
        if attrs[1] not in STEP_ATTRIBUTES:
            self.report(path, "E302", f"unknown name `steps.{step_id}.{attrs[1]}`: use one of {', '.join(STEP_ATTRIBUTES)}{did_you_mean(attrs[1], list(STEP_ATTRIBUTES))}")
            return
        if attrs[1] == "outputs" and len(attrs) > 2:
            fields = output_names(self.workflow.step(step_id))
            if attrs[2] not in fields:
                self.report(path, "E209", f"step `{step_id}` has no output `{attrs[2]}`{did_you_mean(attrs[2], fields)}")

    # --- where http steps call ----------------------------------------------------------------
    def check_http_hosts(self) -> None:
        """A templated host lets data choose where the server sends a request: a warning, and
        an error when people type that data (the egress check at run time still applies)."""
        for index, step in enumerate(self.workflow.steps):
            if not isinstance(step, AutomationStep) or step.http is None:
                continue
            parts = host_templates(step.http.url)  # a syntax error in them is reported above
            typed = next((u for part in parts for u in parse(part)[0] if self._typed_by_a_person(u)), None)
            path: Path = ("steps", index, "http", "url")
            if typed is not None:
                name = ".".join((typed.root, *typed.attributes))
                self.report(path, "E210", f"the host of this url comes from `{name}`, which a person types: "
                            "whoever types it could aim the server at any address, the bot's own network included. "
                            "Write the host out and keep what people type in the path or query (or offer an `enum`)")
            elif parts:
                self.report(path, "W202", f"the host of this url is a template (`{parts[0]}`): where the request "
                            "goes is decided at run time; write the host out if you can (internal hosts go under "
                            "`egress.allow`)")

    def _typed_by_a_person(self, use: Any) -> bool:
        """Whether a name can hold free text a person entered: a run input, or the answer of a
        step people do. An `enum` field holds only what the author listed."""
        attrs = use.attributes
        if use.root == "inputs":
            spec = self.workflow.inputs.get(attrs[0]) if attrs else None
        elif use.root != "steps" or (attrs and attrs[0] not in self.step_ids) or attrs[1:2] not in ((), ("outputs",)):
            return False
        elif not attrs:
            return True
        elif (step := self.workflow.step(attrs[0])).family != "orchestral":
            return False
        else:
            spec = (getattr(step, "outputs", None) or {}).get(attrs[2]) if len(attrs) > 2 else None
        return spec is None or spec.type != "enum"

    def check_start_times(self) -> None:
        for index, step in enumerate(self.workflow.steps):
            at = getattr(step, "at", None)
            if at is not None and not _is_time(at) and not is_template(at):
                self.report(
                    ("steps", index, "at"), "E109",
                    f"`at: {at}` is neither a time of day (HH:MM, such as `09:30`) nor a template giving a date and time",
                )

    # --- the four-question diagnostic --------------------------------------------------------
    def check_diagnostics(self) -> None:
        for index, step in enumerate(self.workflow.steps):
            answers = step.diagnostic
            if answers is None or step.family == "gate":
                continue
            advice = recommend(answers.subjective, answers.variable, answers.repetitive, answers.consistency_critical)
            path: Path = ("steps", index, "diagnostic")
            if step.family == "algorithmic" and advice.recommendation == "orchestral":
                self.report(path, "W401", f"`{step.id}` is automated, but its answers say people should do it (automating too early): {_lower_first(advice.reason)}", key=True)
            elif step.family == "orchestral" and advice.recommendation == "algorithmic":
                self.report(path, "W402", f"`{step.id}` is done by people, but its answers say code could do it: {_lower_first(advice.reason)}", key=True)
            elif advice.recommendation == "split":
                self.report(path, "W403", f"`{step.id}`: {_lower_first(advice.reason)}", key=True)


def output_names(step: Any) -> list[str]:
    """The names a step hands on under `steps.<id>.outputs`."""
    if isinstance(step, StandupStep):
        return [q.id for q in step.questions]
    fields: dict[str, FieldSpec] = getattr(step, "outputs", {}) or {}
    return list(fields)


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def host_templates(url: str) -> list[str]:
    """The templates in `url` that can change the host it calls: those before the end of the
    host, which is the first `/`, `?` or `#` written (not rendered) after the `://`. A value
    rendered there can hold `@`, `/` or `#` and so move the host anywhere."""
    text = SECRET_REF.sub("secret", url)  # the author's secrets are not data
    parts = list(_TEMPLATE_PART.finditer(text))

    def written(pos: int) -> bool:
        return not any(part.start() <= pos < part.end() for part in parts)

    scheme = text.find("://")
    start = scheme + 3 if scheme >= 0 and written(scheme) else 0
    end = next((i for i in range(start, len(text)) if text[i] in "/?#" and written(i)), len(text))
    return [part.group(0) for part in parts if part.start() < end]


def walk_strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:  # every string, with its path
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, path + (key,))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from walk_strings(item, path + (n,))


def _step_texts(step: Any, base: Path) -> Iterator[tuple[Path, str, bool, bool]]:
    """(path, text, is a condition, may hold a secret) for every templated text of a step."""
    if step.if_ is not None:
        yield base + ("if",), step.if_, True, False
    for key in ("prompt", "name"):
        text = getattr(step, key, None)
        if text is not None:
            yield base + (key,), text, False, False
    if isinstance(step, TaskStep):
        yield base + ("ask",), step.ask, False, False
    if isinstance(step, GateStep):
        if step.decide is not None:
            yield base + ("decide",), step.decide, False, False
        for r, route in enumerate(step.routes):
            if route.if_ is not None:
                yield base + ("routes", r, "if"), route.if_, True, False
    if isinstance(step, StandupStep):
        for q, question in enumerate(step.questions):
            yield base + ("questions", q, "text"), question.text, False, False
    if isinstance(step, AutomationStep):
        if step.at is not None and not _is_time(step.at):
            yield base + ("at",), step.at, False, False
        # `conductor/post` shows its `with` to people in Slack: no secret there.
        shown = step.uses == "conductor/post"
        for path, text in walk_strings(step.with_, base + ("with",)):
            yield path, text, False, not shown
        for path, text in walk_strings(step.run or [], base + ("run",)):
            yield path, text, False, True
        for path, text in walk_strings(step.env, base + ("env",)):
            yield path, text, False, True
        if step.http is not None:
            raw = step.http.model_dump(by_alias=True, exclude_none=True)
            for path, text in walk_strings(raw, base + ("http",)):
                yield path, text, False, True


def _is_time(text: str) -> bool:
    return bool(re.match(TIME_PATTERN, text.strip()))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
