"""Random event sequences against the pure engine, with the run's invariants checked after every
event, for the four example workflows and a release workflow that forks and joins (`needs`), loops
back on rejections, retries automations and lets a person decide the way. Events come right and
wrong: valid and invalid handoffs by assignees and strangers, current and stale tries, live and
stale timers, the conductor's actions by people who may and may not take them, time passing.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from bot.definitions.fields import FieldSpec
from bot.definitions.loader import load_bytes, load_paths
from bot.definitions.steps import ApprovalStep, AutomationStep, GateStep, StandupStep, TaskStep
from bot.definitions.workflow import Workflow
from bot.engine import events as ev
from bot.engine.effects import Audit, RunAutomation, SetTimer
from bot.engine.handoff import check_outputs
from bot.engine.machine import Accepted, Refused, advance, may, start_run
from bot.engine.permissions import StaticDirectory, users_of
from bot.engine.state import RunState, StepStatus

CATALOG = load_paths([str(Path(__file__).resolve().parents[2] / "workflows")])
RELEASE_YAML = b"""
id: release-train
channel: "#releases"
roles: {lead: [U01LEAD], devs: [S01DEVS], qa: [U02QA]}
conductor: lead
permissions: {start: [lead, devs], cancel: [lead], retry: [lead]}
inputs:
  version: {type: string, pattern: "^[0-9]+[.][0-9]+$"}
  risky: {type: boolean, default: false}
steps:
  - id: plan
    ask: lead
    outputs: {scope: {type: text, max: 200}, owner: user, when: datetime}
    due: 1d
    remind: [2h]
  - id: build
    needs: plan
    uses: automations.release:build
    outputs: {artifact: url, size: {type: number, min: 0}}
    retry: {attempts: 3, backoff: 10s, max: 1m}
    timeout: 2m
    escalate_to: lead
  - id: notes
    needs: plan
    ask: "{{ steps.plan.outputs.owner }}"
    outputs: {channel: channel, day: date, tags: {type: list, items: enum, options: [fix, new], min: 1}}
    due: 2d
  - id: security
    needs: plan
    approvers: [qa]
    prompt: Anything in {{ steps.plan.outputs.scope }} that the plan must change?
    on_reject: plan
    due: 1d
  - id: checks
    needs: [build, notes, security]
    if: steps.build.outputs.size > 0
    run: [make, check, "VERSION={{ inputs.version }}"]
    retry: {attempts: 2, backoff: 5s}
    on_failure: skip
  - id: qa_review
    approvers: [qa, lead]
    min_approvals: 2
    on_reject: notes
    outputs: {comment: {type: string, required: false, max: 40}}
    due: 1d
  - id: route
    decide: lead
    routes: [{label: Ship it, goto: ship}, {label: Back to planning, goto: plan}, {label: Stop, goto: end}]
    due: 4h
  - id: ship
    uses: automations.release:ship
    after: 1h
    retry: {attempts: 2, backoff: 1m}
    on_failure: fail
    outputs: {count: {type: integer, min: 1, max: 10}}
"""
RELEASE, PROBLEMS = load_bytes("release-train.yaml", RELEASE_YAML)
assert RELEASE is not None, [p.format() for p in PROBLEMS]

T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)  # a Monday morning
OUTSIDER = "U0OUTSIDER"
PEOPLE = ["U0ALICE", "U0BOB"]  # whom generated `user` values name
S = StepStatus
WAITING_ON_TIME = (S.SCHEDULED, S.RETRY_WAIT)
HANDOFF_KINDS = (TaskStep, ApprovalStep, AutomationStep)  # steps whose outputs have declared fields
NOT_FINITE = st.sampled_from(["NaN", "inf", "-Infinity", float("inf")])  # numbers JSON cannot hold
TEXT = string.ascii_letters + string.digits + " {}%-\n"
SETTINGS = settings(
    max_examples=90, stateful_step_count=90, deadline=None, phases=[p for p in Phase if p != Phase.explain],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --- values for declared fields -------------------------------------------------------------------
def value_of(spec: FieldSpec, kind: str | None = None) -> st.SearchStrategy:
    """A valid value of a field (with `kind`: of one element of a list field)."""
    kind = kind or spec.type
    lo, hi = (spec.min, spec.max) if kind == spec.type else (None, None)  # a list's bound its length
    match kind:
        case "list":
            longest = min(4, int(hi if hi is not None else 4), len(spec.options or "abcd"))
            return st.lists(value_of(spec, spec.items or "string"), min_size=max(1, int(lo or 0)),
                            max_size=longest, unique=spec.items == "enum")
        case "string" | "text":
            short, long = max(1, int(lo or 0)), int(hi if hi is not None else 40)
            if spec.pattern:
                return st.from_regex(spec.pattern, fullmatch=True).filter(lambda s: short <= len(s) <= long)
            return st.text(TEXT, min_size=short, max_size=min(long, 40))
        case "integer":
            return st.integers(int(lo) if lo is not None else -1000, int(hi) if hi is not None else 10_000)
        case "number":
            return st.floats(lo if lo is not None else -1e6, hi if hi is not None else 1e6, allow_nan=False)
        case "boolean":
            return st.booleans()
        case "date":
            return st.dates(date(2000, 1, 1), date(2100, 1, 1)).map(date.isoformat)
        case "datetime":
            moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
            return moments.map(datetime.isoformat)
        case "enum":
            return st.sampled_from(spec.options)
        case "user":
            return st.sampled_from(PEOPLE) | st.from_regex(r"[UW][A-Z0-9]{2,9}", fullmatch=True)
        case "channel":
            return st.sampled_from(["#general", "#ops-2", "C0123ABC"])
        case "url":
            return st.sampled_from(["https://example.com/a", "http://docs.example.org/x?y=1"])
    raise AssertionError(kind)


def valid_outputs(fields: dict[str, FieldSpec]) -> st.SearchStrategy:
    return st.fixed_dictionaries({n: value_of(s) for n, s in fields.items() if s.is_required},
                                 optional={n: value_of(s) for n, s in fields.items() if not s.is_required})


def invalid_outputs(fields: dict[str, FieldSpec]) -> st.SearchStrategy:
    valid = valid_outputs(fields)
    broken = [st.just(["not", "a", "mapping"]), valid.map(lambda d: {**d, "zz_unknown": 1})]
    for name, spec in fields.items():
        wrong = NOT_FINITE if spec.type == "number" else st.just("text" if spec.type == "list" else {"a": 1})
        broken.append(st.tuples(valid, wrong).map(lambda dw, n=name: {**dw[0], n: dw[1]}))
        if spec.is_required:
            broken.append(valid.map(lambda d, n=name: {k: v for k, v in d.items() if k != n}))
    return st.one_of(broken)


def odd_numbers(fields: dict[str, FieldSpec]) -> st.SearchStrategy:
    """Valid values, except one number given as something JSON cannot hold."""
    numbers = [name for name, spec in fields.items() if spec.type == "number"]
    if not numbers:
        return valid_outputs(fields)
    return st.tuples(valid_outputs(fields), st.sampled_from(numbers), NOT_FINITE).map(
        lambda t: {**t[0], t[1]: t[2]})


def handoff_fields(step: object) -> dict[str, FieldSpec]:
    """The fields a step's handoff is checked against (a stand-up's: its questions)."""
    if isinstance(step, StandupStep):
        return {q.id: FieldSpec(type=q.type, options=q.options, required=q.required) for q in step.questions}
    return getattr(step, "outputs", {})


# --- the machine ----------------------------------------------------------------------------------
class RunMachine(RuleBasedStateMachine):
    workflow: Workflow
    handoffs: dict[str | None, tuple[st.SearchStrategy, st.SearchStrategy]]  # step -> (valid, invalid)
    inputs: st.SearchStrategy
    odd_inputs: st.SearchStrategy

    def __init__(self) -> None:
        super().__init__()
        principals = {p for ids in self.workflow.roles.values() for p in ids}
        groups = sorted(p for p in principals if p.startswith("S"))
        self.directory = StaticDirectory({g: [f"U{g[1:]}A", f"U{g[1:]}B"] for g in groups})
        members = {u for g in groups for u in self.directory.group_members(g)}
        self.pool = sorted({p for p in principals if p[0] in "UW"} | members | {OUTSIDER, *PEOPLE})
        self.now = T0
        self.state: RunState | None = None
        self.keys: set[str] = set()  # every timer key ever set, to fire stale ones

    def pick_step(self, data, kinds: tuple[type, ...], statuses: tuple[StepStatus, ...]) -> str:
        steps = self.workflow.steps
        live = [s.id for s in steps if isinstance(s, kinds) and self.state.steps[s.id].status in statuses]
        if live and data.draw(st.integers(0, 5), label="live step?"):
            return data.draw(st.sampled_from(live), label="step")
        return data.draw(st.sampled_from([s.id for s in steps] + ["no_such_step"]), label="step")

    def pick_actor(self, data, step_id: str | None = None, sure: bool = False) -> str:
        now = self.state.steps.get(step_id) if step_id else None
        right = users_of(now.assignees, self.directory) if now else []
        if right and (sure or data.draw(st.integers(0, 3), label="assignee?")):
            return data.draw(st.sampled_from(right), label="actor")
        return data.draw(st.sampled_from(self.pool), label="actor")

    def pick_outputs(self, data, step_id: str, sure: bool = False) -> object:
        valid, invalid = self.handoffs.get(step_id, self.handoffs[None])
        if sure or data.draw(st.integers(0, 4), label="valid?"):
            return data.draw(valid, label="outputs")
        return data.draw(invalid, label="bad outputs")

    @initialize(data=st.data())
    def start(self, data) -> None:
        wf = self.workflow
        starter = data.draw(st.sampled_from([u for u in self.pool if may(wf, None, u, "start", self.directory)]))
        odd = not data.draw(st.integers(0, 3), label="odd inputs?")
        for inputs in (self.odd_inputs if odd else self.inputs, self.inputs):
            out = start_run(wf, run_id="run-1", version="v1", actor=starter, now=self.now,
                            inputs=data.draw(inputs, label="inputs"), directory=self.directory)
            if isinstance(out, Accepted):
                break
            assert odd and out.reason and out.effects[0].type == "refused", out
        self.check(None, out.state, out.effects)
        self.state = out.state

    @rule(data=st.data())
    def progress(self, data) -> None:
        """What a live step waits for, by the right person with a valid handoff: runs get deep."""
        live = [sid for sid, now in self.state.steps.items() if now.active]
        if not live:
            return
        sid = data.draw(st.sampled_from(live), label="live step")
        step, now = self.workflow.step(sid), self.state.steps[sid]

        def who() -> str:
            return self.pick_actor(data, sid, sure=True)

        def handoff() -> object:
            return self.pick_outputs(data, sid, sure=True)

        if now.status in WAITING_ON_TIME:
            key = data.draw(st.sampled_from(sorted(k for k, t in self.state.timers.items() if t.step_id == sid)))
            self.now = max(self.now, self.state.timers[key].due_at)
            self.fire(ev.TimerFired(key))
        elif now.status == S.RUNNING:
            self.fire(ev.AutomationSucceeded(sid, now.attempt, now.tries, handoff()))
        elif now.status == S.ESCALATED:
            takers = [u for u in self.pool if may(self.workflow, self.state, u, "take_over", self.directory)]
            self.fire(ev.TakeOver(sid, data.draw(st.sampled_from(takers)), handoff()))
        elif isinstance(step, TaskStep):
            self.fire(ev.Answer(sid, who(), handoff()))
        elif isinstance(step, ApprovalStep):
            approve = data.draw(st.integers(0, 3), label="approve?")
            self.fire(ev.Approve(sid, who(), handoff()) if approve else ev.Reject(sid, who(), "again"))
        elif isinstance(step, GateStep):
            choice = data.draw(st.sampled_from([r.label or r.goto for r in step.routes]), label="route")
            self.fire(ev.Decide(sid, who(), choice))
        elif isinstance(step, StandupStep):
            self.fire(ev.StandupAnswer(sid, who(), handoff()))

    @rule(data=st.data(), act=st.sampled_from(["answer", "approve", "reject", "decide", "standup"]))
    def someone_acts(self, data, act: str) -> None:
        """A person answers, approves, rejects or decides: any step, any actor, any handoff."""
        kind = {"answer": TaskStep, "decide": GateStep, "standup": StandupStep}.get(act, ApprovalStep)
        sid = self.pick_step(data, (kind,), (S.WAITING_ON_PERSON,))
        actor = self.pick_actor(data, sid)
        if act == "reject":
            self.fire(ev.Reject(sid, actor, data.draw(st.sampled_from(["", "needs work"]))))
        elif act == "decide":
            routes = getattr(self.workflow.step(sid), "routes", []) if sid in self.state.steps else []
            choice = data.draw(st.sampled_from([c for r in routes for c in (r.label, r.goto) if c] + ["nowhere"]))
            self.fire(ev.Decide(sid, actor, choice))
        else:
            event = {"answer": ev.Answer, "approve": ev.Approve, "standup": ev.StandupAnswer}[act]
            self.fire(event(sid, actor, self.pick_outputs(data, sid)))

    @precondition(lambda self: any(isinstance(step, AutomationStep) for step in self.workflow.steps))
    @rule(data=st.data(), outcome=st.sampled_from(["succeeded", "failed", "retryable", "restarted"]))
    def automation_reports(self, data, outcome: str) -> None:
        """A result of the current try or of a stale one, or a restart found the step running."""
        sid = self.pick_step(data, (AutomationStep,), (S.RUNNING,))
        now = self.state.steps.get(sid)
        a, t = (now.attempt, now.tries) if now else (1, 1)
        attempt, tried = data.draw(st.sampled_from([(a, t), (a, t - 1), (a - 1, t), (a, t + 1)]), label="try")
        if outcome == "succeeded":
            self.fire(ev.AutomationSucceeded(sid, attempt, tried, self.pick_outputs(data, sid)))
        elif outcome == "restarted":
            self.fire(ev.Recover(sid))
        else:
            self.fire(ev.AutomationFailed(sid, attempt, tried, "boom", retryable=outcome == "retryable"))

    @rule(data=st.data())
    def fire_timer(self, data) -> None:
        live = sorted(self.state.timers)
        if live and data.draw(st.integers(0, 4), label="live timer?"):
            key = data.draw(st.sampled_from(live), label="timer")
            self.now = max(self.now, self.state.timers[key].due_at)
        else:
            stale = sorted(self.keys - set(live)) + ["run-1:nothing:1:deadline:0"]
            key = data.draw(st.sampled_from(stale), label="stale timer")
        self.fire(ev.TimerFired(key))

    @rule(minutes=st.integers(1, 4 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(data=st.data(), action=st.sampled_from(["take_over", "retry", "skip", "reassign"]))
    def intervene(self, data, action: str) -> None:
        help_needed = (S.ESCALATED, S.RETRY_WAIT)
        if action == "take_over":
            sid = self.pick_step(data, (AutomationStep,), help_needed)
            self.fire(ev.TakeOver(sid, self.pick_actor(data), self.pick_outputs(data, sid)))
        elif action == "retry":
            self.fire(ev.RetryNow(self.pick_step(data, (AutomationStep,), help_needed), self.pick_actor(data)))
        elif action == "skip":
            active = (S.SCHEDULED, S.WAITING_ON_PERSON, S.RUNNING, S.RETRY_WAIT, S.ESCALATED)
            sid = self.pick_step(data, (TaskStep, ApprovalStep, GateStep, AutomationStep, StandupStep), active)
            self.fire(ev.Skip(sid, self.pick_actor(data), data.draw(st.sampled_from(["", "not needed"]))))
        else:
            sid = self.pick_step(data, (TaskStep, GateStep), (S.WAITING_ON_PERSON,))
            to = data.draw(st.sampled_from([*self.pool, "nobody", "S01GROUP", ""]), label="assignee")
            self.fire(ev.Reassign(sid, self.pick_actor(data, sid), to))

    @rule(data=st.data())
    def ask_for_help(self, data) -> None:
        """Help asked on any step, by anyone: accepted or refused, the run does not move."""
        before = self.state
        sid = self.pick_step(data, (TaskStep, ApprovalStep, GateStep, AutomationStep, StandupStep), tuple(S))
        self.fire(ev.AskForHelp(sid, self.pick_actor(data, sid)))
        assert {**self.state.to_json(), "seq": before.seq} == before.to_json(), "asking for help moved the run"

    @rule(data=st.data(), abort=st.booleans())
    def stop(self, data, abort: bool) -> None:
        allowed = [u for u in self.pool if may(self.workflow, self.state, u, "cancel", self.directory)]
        others = [u for u in self.pool if u not in allowed]
        permitted = data.draw(st.integers(0, 3), label="permitted?") == 3  # mostly not, so runs go on
        actor = data.draw(st.sampled_from(allowed if permitted or not others else others), label="actor")
        self.fire(ev.Abort(actor, "") if abort else ev.Cancel(actor, "enough"))

    # --- every event goes through here ------------------------------------------------------------
    def fire(self, event: ev.Event) -> None:
        before = self.state
        snapshot = before.to_json()
        try:
            out = advance(self.workflow, before, event, self.now, self.directory)
        except Exception as exc:  # 7. advance never raises
            raise AssertionError(f"advance raised on {event!r}: {exc!r}") from exc
        assert before.to_json() == snapshot, f"advance changed the state it was given, on {event!r}"
        if isinstance(out, Refused):  # 7. a refusal says why, and is audited
            assert out.reason, out
            assert any(isinstance(e, Audit) and e.type == "refused" for e in out.effects), out
            assert not before.final or out.code == "run_finished", out  # 3. a final run stays so
            return
        assert isinstance(out, Accepted) and not before.final, f"a finished run accepted {event!r}"
        self.check(before, out.state, out.effects)
        self.state = out.state

    def check(self, before: RunState | None, after: RunState, effects: list) -> None:
        self.keys |= {e.key for e in effects if isinstance(e, SetTimer)}
        looped = any(isinstance(e, Audit) and e.type == "looped_back" for e in effects)
        runs = [e for e in effects if isinstance(e, RunAutomation)]
        # 1. one try in flight per step, and a running step's current try has its timeout
        assert all(n == 1 for n in Counter(e.step_id for e in runs).values()), f"tries started at once: {runs}"
        for e in runs:
            now = after.steps[e.step_id]
            assert after.final or (now.status, now.attempt, now.tries) == (S.RUNNING, e.attempt, e.try_number), e
        for sid, now in after.steps.items():
            step = self.workflow.step(sid)
            timers = [t for t in after.timers.values() if t.step_id == sid]
            if now.status == S.RUNNING:
                timeouts = [t for t in timers if t.kind == "timeout"]
                assert len(timeouts) == 1, f"`{sid}` is running with timeouts {timeouts}"
                assert timeouts[0].data.get("try_number") == now.tries, timeouts
                assert f":{sid}:{now.attempt}:timeout:{now.tries}" in timeouts[0].key, timeouts
            # 2. a finished step runs again only when a loop re-activated it, as a new attempt
            if before is not None:
                was = before.steps[sid]
                assert now.attempt >= was.attempt, (sid, was.attempt, now.attempt)
                if was.finished and now.attempt == was.attempt:
                    assert (now.status, now.outputs) == (was.status, was.outputs) or (
                        now.status == S.PENDING and looped
                    ), f"finished `{sid}` went from {was.status} to {now.status} without a new attempt"
            # 4. a person with a deadline is watched by a deadline timer until it passes
            if now.status == S.WAITING_ON_PERSON and getattr(step, "due", None) and not now.overdue:
                assert [t.kind for t in timers].count("deadline") == 1, f"`{sid}` waits with no deadline: {timers}"
            # 5. completed handoffs fit the declared fields
            if now.status == S.COMPLETED and isinstance(step, HANDOFF_KINDS):
                clean, problems = check_outputs(step.outputs, now.outputs)
                assert clean is not None, f"`{sid}` completed with outputs {now.outputs!r}: {problems}"
            # 6. timers belong to active steps (and a step waiting on time has one)
            assert not timers or now.active, f"`{sid}` is {now.status} with timers {timers}"
            assert now.status not in WAITING_ON_TIME or timers, f"`{sid}` is {now.status} with no timer"
        assert all(t.step_id in after.steps for t in after.timers.values()), after.timers
        assert not after.final or not after.timers, f"a {after.status} run keeps timers {sorted(after.timers)}"
        # 8. the state survives storage as (strict) JSON
        data = after.to_json()
        try:
            text = json.dumps(data, allow_nan=False)
        except ValueError as exc:
            outputs = {k: v["outputs"] for k, v in data["steps"].items() if v["outputs"]}
            raise AssertionError(f"the state is not JSON ({exc}): inputs {data['inputs']}, outputs {outputs}") from exc
        again = RunState.from_json(json.loads(text))
        assert again == after and again.to_json() == data


def machine_for(workflow: Workflow) -> type[RunMachine]:
    handoffs = {None: (valid_outputs({}), invalid_outputs({}))}  # strategies are built once
    for step in workflow.steps:
        fields = handoff_fields(step)
        handoffs[step.id] = (valid_outputs(fields), invalid_outputs(fields))
    attributes = {"workflow": workflow, "handoffs": handoffs, "inputs": valid_outputs(workflow.inputs),
                  "odd_inputs": odd_numbers(workflow.inputs)}
    machine = type(f"{workflow.id.title().replace('-', '')}Run", (RunMachine,), attributes)
    machine.TestCase.settings = SETTINGS
    return machine


TestBlogArticle = machine_for(CATALOG.workflows["blog-article"].workflow).TestCase
TestCampaignLaunch = machine_for(CATALOG.workflows["campaign-launch"].workflow).TestCase
TestClientOnboarding = machine_for(CATALOG.workflows["client-onboarding"].workflow).TestCase
TestDailyStandup = machine_for(CATALOG.workflows["daily-standup"].workflow).TestCase
TestReleaseTrain = machine_for(RELEASE.workflow).TestCase
