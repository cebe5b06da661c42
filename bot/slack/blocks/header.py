"""The run's header: the first message of its thread, edited in place as the run moves.

`header_info(workflow, state, run_id)` gathers what it shows from the definition and the live
state; `render_header(info)` turns that into `{"text", "blocks"}`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.definitions.workflow import Workflow
from bot.engine.journal import current_phase
from bot.engine.state import RunState, StepStatus
from bot.slack.blocks import kit
from bot.slack.blocks import text as t


@dataclass(frozen=True)
class HeaderInfo:
    """What the header shows. Plain data, so callers and tests can build it by hand."""

    title: str
    run_id: str
    status: str  # running, waiting, completed, failed, cancelled
    phase: str | None = None
    phases: tuple[str, ...] = ()
    steps: tuple[tuple[str, str], ...] = ()  # (step title, step status), in workflow order
    waiting_on: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (step title, principals asked)
    started_by: str | None = None
    reason: str | None = None  # why it failed or was cancelled

    @property
    def final(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def done(self) -> int:
        return sum(1 for _, status in self.steps if status in ("completed", "skipped"))

    @property
    def total(self) -> int:
        """Steps of the run; once it is over, the steps on paths it did not take are left out."""
        if self.final:
            return sum(1 for _, status in self.steps if status != "pending")
        return len(self.steps)

    @property
    def progress(self) -> str:
        return f"{self.done} of {self.total} step{'s' if self.total != 1 else ''} done"


def header_info(workflow: Workflow, state: RunState, run_id: str | None = None) -> HeaderInfo:
    """The header's content for a run of `workflow` in `state`."""
    steps = tuple((step.title, state.steps[step.id].status.value if step.id in state.steps else "pending")
                  for step in workflow.steps)
    waiting: list[tuple[str, tuple[str, ...]]] = []
    for step in workflow.steps:
        st = state.steps.get(step.id)
        if st is None or st.status != StepStatus.WAITING_ON_PERSON:
            continue
        left = tuple(p for p in st.assignees if p not in st.answers and p not in st.approvals)
        waiting.append((step.title, left))
    return HeaderInfo(
        title=workflow.title, run_id=run_id or state.run_id, status=state.status.value,
        phase=current_phase(workflow, state), phases=tuple(workflow.phases), steps=steps,
        waiting_on=tuple(waiting), started_by=state.started_by, reason=state.reason,
    )


_RUN_STATUS = {
    "running": ":gear: Running",
    "waiting": ":hourglass_flowing_sand: Waiting",
    "completed": ":checkered_flag: Completed",
    "failed": ":x: Failed",
    "cancelled": ":no_entry_sign: Cancelled",
}
STEP_MARKS = {
    "pending": ":white_small_square:",
    "scheduled": ":clock3:",
    "waiting_on_person": ":raising_hand:",
    "running": ":gear:",
    "retry_wait": ":repeat:",
    "escalated": ":warning:",
    "completed": ":white_check_mark:",
    "skipped": ":fast_forward:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
}
MAX_WAITING_LINES = 8


def _phases_line(info: HeaderInfo) -> str:
    parts = [f"*{t.escape(p)}*" if p == info.phase else t.escape(p) for p in info.phases]
    return " → ".join(parts)


def _waiting_text(info: HeaderInfo) -> str:
    if info.final:
        return "nobody"
    lines = [f"{t.mentions(who, empty='nobody')}: {t.escape(title)}" for title, who in info.waiting_on[:MAX_WAITING_LINES]]
    if len(info.waiting_on) > MAX_WAITING_LINES:
        lines.append(f"…and {len(info.waiting_on) - MAX_WAITING_LINES} more steps")
    if lines:
        return "\n".join(lines)
    if any(status == "escalated" for _, status in info.steps):
        return "people, to handle a failed automation"
    return "code or time" if any(s in ("running", "retry_wait", "scheduled") for _, s in info.steps) else "nobody"


def _steps_text(info: HeaderInfo) -> str:
    lines = [f"{STEP_MARKS.get(status, ':grey_question:')} {t.escape(title)}"
             + ("" if status in ("pending", "completed") else f" _({t.escape(status.replace('_', ' '))})_")
             for title, status in info.steps]
    return "\n".join(lines)


def render_header(workflow_title: str | HeaderInfo, run_id: str | None = None,
                  state_summary: HeaderInfo | None = None) -> dict[str, Any]:
    """The header message, `{"text", "blocks"}`: workflow, run id, status, phase, progress,
    who it waits on, and each step's mark.

    Call it with a `HeaderInfo`, or as `render_header(title, run_id, info)`, where the title
    and run id given win over the info's."""
    if isinstance(workflow_title, HeaderInfo):
        info = workflow_title
    elif state_summary is not None:
        info = replace(state_summary, title=workflow_title, run_id=run_id or state_summary.run_id)
    else:
        info = HeaderInfo(title=workflow_title, run_id=run_id or "", status="")
    status = _RUN_STATUS.get(info.status, t.escape(info.status.capitalize()) or "—")
    facts = [f"*Status*\n{status}"]
    if info.phase:
        facts.append(f"*Phase*\n{t.escape(info.phase)}")
    if info.steps:
        facts.append(f"*Progress*\n{info.progress}")
        facts.append(f"*Waiting on*\n{_waiting_text(info)}")
    blocks = [kit.header(info.title or "Run"), kit.section(f"Run `{t.escape(info.run_id)}`", fields=facts)]
    if info.reason and info.final:
        blocks.append(kit.section(t.truncate_mrkdwn(t.quote(info.reason))))
    if info.phases:
        blocks.append(kit.context(_phases_line(info)))
    if info.steps:
        blocks += kit.sections(_steps_text(info), max_blocks=3)
    footer = [f"Started by {t.mention(info.started_by)}"] if info.started_by else []
    if footer:
        blocks.append(kit.context(*footer))
    plain_status = info.status or "started"
    fallback = f"{t.escape(info.title)} · run {t.escape(info.run_id)}: {plain_status}"
    if info.steps:
        fallback += f" · {info.progress}"
    return {"text": t.truncate_mrkdwn(fallback, t.FALLBACK_TEXT), "blocks": kit.fit(blocks, t.MESSAGE_BLOCKS)}
