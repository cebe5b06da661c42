"""The App Home: what waits on you, the runs of each workflow by phase (a Kanban board), what
needs attention, and (for a workflow's conductor and admins) the insights' advisories. Built
from the read side (`bot.engine.queries`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.engine.queries import AttentionItem, RunSummary, WaitingItem
from bot.slack.blocks import actions as a
from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.insights import home_insights
from bot.slack.blocks.kit import Block
from bot.usecases.insights import Advisory

PHASE_RUNS = 8  # runs listed per phase before "and N more"
WORKFLOW_FIELDS = 10  # Slack's limit of fields in a section


def when(moment: datetime | None) -> str:
    """A moment in each reader's own time zone (Slack's date formatting)."""
    if moment is None:
        return "a while"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{t.escape(moment.isoformat(timespec='minutes'))}>"


def _run_ref(workflow_id: str, run_id: str) -> str:
    return f"{t.escape(workflow_id)} · run `{t.escape(run_id)}`"


# --- waiting on you -----------------------------------------------------------------------------
def _waiting_buttons(item: WaitingItem) -> list[dict[str, Any]]:
    value = a.action_value(item.run_id, item.step_id)
    match item.kind:
        case "approval":
            return [kit.button("Approve", a.APPROVE, value, style="primary"),
                    kit.button("Reject", a.REJECT, value, style="danger")]
        case "gate":
            return [kit.button("Decide", a.DECIDE, value, style="primary")]
        case "standup":
            return [kit.button("Answer", a.STANDUP_ANSWER, value, style="primary")]
        case _:
            return [kit.button("Submit", a.SUBMIT, value, style="primary")]


def waiting_item(item: WaitingItem) -> list[Block]:
    """One step waiting on the reader, with the button that acts on it."""
    late = ":red_circle: *overdue* · " if item.overdue else ""
    text = f"*{t.escape(item.title)}*\n{late}{_run_ref(item.workflow_id, item.run_id)} · since {when(item.since)}"
    buttons = _waiting_buttons(item)
    if len(buttons) == 1:
        return [kit.section(text, accessory=buttons[0])]
    return [kit.section(text), kit.actions(*buttons)]


# --- runs by phase ------------------------------------------------------------------------------
def _phase_field(phase: str, runs: list[RunSummary]) -> str:
    lines = []
    for run in runs[:PHASE_RUNS]:
        doing = f" · {t.escape(', '.join(run.waiting_on))}" if run.waiting_on else ""
        lines.append(f"`{t.escape(run.run_id)}`{doing}")
    if len(runs) > PHASE_RUNS:
        lines.append(f"_…and {len(runs) - PHASE_RUNS} more_")
    name = t.escape(phase) if phase else "No phase"
    return f"*{name}* ({len(runs)})\n" + ("\n".join(lines) if lines else "_none_")


def board_workflow(workflow_id: str, phases: dict[str, list[RunSummary]]) -> list[Block]:
    """One workflow's column per phase, as section fields (ten per section)."""
    runs = [run for column in phases.values() for run in column]
    title = runs[0].title if runs else workflow_id
    fields = [_phase_field(phase, column) for phase, column in phases.items()]
    count = len(runs)
    head = f"*{t.escape(title)}* · {count} run{'s' if count != 1 else ''} in progress"
    blocks = [kit.section(head, fields=fields[:WORKFLOW_FIELDS])]
    for start in range(WORKFLOW_FIELDS, len(fields), WORKFLOW_FIELDS):
        blocks.append(kit.section(f"*{t.escape(title)}* (continued)", fields=fields[start : start + WORKFLOW_FIELDS]))
    return blocks


# --- needs attention ----------------------------------------------------------------------------
def attention_item(item: AttentionItem) -> list[Block]:
    """An escalated step with Retry, Skip, Take over and Abort run; or a run that failed."""
    error = f"\n{t.truncate_mrkdwn(t.quote(item.error), 1000)}" if item.error else ""
    if item.step_id is None:
        return [kit.section(f":x: *Run failed* · {_run_ref(item.workflow_id, item.run_id)}{error}")]
    text = f":warning: *{t.escape(item.title)}* · {_run_ref(item.workflow_id, item.run_id)}{error}"
    value = a.action_value(item.run_id, item.step_id)
    abort = kit.confirm("Abort the run?", f"Run `{t.escape(item.run_id)}` ends as failed.", "Abort run",
                        "Keep it", style="danger")
    return [kit.section(text), kit.actions(
        kit.button("Retry", a.RETRY, value, style="primary"),
        kit.button("Skip", a.SKIP, value),
        kit.button("Take over", a.TAKE_OVER, value),
        kit.button("Abort run", a.ABORT, value, style="danger", confirm=abort),
    )]


# --- the view -----------------------------------------------------------------------------------
def share(needs: list[int], room: int) -> list[int]:
    """Blocks for each part: all it needs when everything fits, else a fair share each, the
    room a small part leaves going to the others."""
    given = [0] * len(needs)
    left = room
    open_parts = [n for n, need in enumerate(needs) if need > 0]
    while left > 0 and open_parts:
        each = max(left // len(open_parts), 1)
        for n in list(open_parts):
            take = min(each, needs[n] - given[n], left)
            given[n] += take
            left -= take
            if given[n] >= needs[n]:
                open_parts.remove(n)
            if left == 0:
                break
    return given


def render_home(waiting: list[WaitingItem], board: dict[str, dict[str, list[RunSummary]]],
                attention: list[AttentionItem], insights: tuple[Advisory, ...] | None = None) -> dict[str, Any]:
    """The App Home view (`{"type": "home", "blocks": [...]}`), at most 100 blocks: parts
    that do not fit end with "…and N more". `insights` (None: no such part) are the
    advisories of the workflows the reader conducts."""
    parts = [
        ("Waiting on you", [waiting_item(i) for i in waiting], "Nothing waits on you. :tada:", "more waiting on you"),
        ("Runs by phase", [board_workflow(w, p) for w, p in board.items()], "No runs in progress.", "more workflows"),
        ("Needs attention", [attention_item(i) for i in attention], "Nothing needs attention.", "more need attention"),
    ]
    if insights is not None:
        parts.append(("Insights", home_insights(insights), "Nothing to advise: no step stands out.", "more advisories"))
    fixed = 2 * len(parts) + (len(parts) - 1)  # a header and (when empty) a line each, dividers between
    needs = [sum(len(g) for g in groups) for _, groups, _, _ in parts]
    rooms = share([max(n - 1, 0) for n in needs], t.VIEW_BLOCKS - fixed)
    blocks: list[Block] = []
    for n, (title, groups, empty, noun) in enumerate(parts):
        if n:
            blocks.append(kit.divider())
        blocks.append(kit.header(title))
        if not groups:
            blocks.append(kit.context(empty))
            continue
        blocks += kit.fit_groups(groups, rooms[n] + 1, noun=noun)
    return {"type": "home", "blocks": blocks[: t.VIEW_BLOCKS]}
