"""Short, private answers to `/conductor` commands, as Slack mrkdwn text (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

from bot.engine.queries import RunSummary, WaitingItem
from bot.usecases.reads import Board, RunStatus, VisibleRuns
from bot.usecases.results import (
    Accepted,
    AwayDays,
    AwaySet,
    Back,
    Decision,
    Duplicate,
    Ignored,
    Refused,
    Reloaded,
    Steered,
)

HELP = """*Conductor* conducts workflows of people and automations.
• `/conductor start <workflow> [name=value ...]` start a run
• `/conductor list` workflows you can start
• `/conductor runs` active runs · `/conductor status <run>` one run
• `/conductor board [workflow]` runs by phase · `/conductor mine` what waits on you
• `/conductor cancel <run>` · `/conductor reload` load the workflow files again (admins)
• `/conductor diagnose` people or code? four questions
• `/conductor standup pause|resume|skip [workflow]` steer a stand-up's schedule (leads)
• `/conductor away 2026-03-02..2026-03-06` stand-ups leave you alone those days (`away off` to undo)
• `/conductor insights [workflow]` what the last 90 days of runs suggest changing (conductors, admins)"""


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def already_handled(verb: str) -> str:
    """The answer to a command seen again (the same trigger id: a proxy's retry): the first
    delivery was decided and answered, so this one changes nothing."""
    return f"Already handled: this `/conductor {verb}` came in before and was answered then."


def workflow_list(items: list[tuple[str, str, list[str]]]) -> str:
    """(id, title, input names) per workflow."""
    if not items:
        return "No workflows are loaded. Add YAML files to the workflows folder and `/conductor reload`."
    lines = ["*Workflows*"]
    for workflow_id, title, inputs in items:
        needs = f" — inputs: {', '.join(f'`{name}`' for name in inputs)}" if inputs else ""
        lines.append(f"• `{workflow_id}` {escape(title)}{needs}")
    return "\n".join(lines)


def run_line(run: RunSummary) -> str:
    waiting = f" — waiting on {', '.join(escape(t) for t in run.waiting_on)}" if run.waiting_on else ""
    phase = f" [{escape(run.phase)}]" if run.phase else ""
    return f"• `{run.run_id}` {escape(run.title)}{phase}: {run.status}{waiting}"


def others(hidden: int) -> str:
    """The runs a person takes no part in: a count, nothing more."""
    if not hidden:
        return ""
    return f"\n_{hidden} other active run{'s' if hidden != 1 else ''} you take no part in._"


def run_list(found: VisibleRuns) -> str:
    if not found.runs:
        return ("No active runs." if not found.hidden else "No active runs that you take part in.") + others(found.hidden)
    return "*Active runs*\n" + "\n".join(run_line(r) for r in found.runs) + others(found.hidden)


def board(found: Board) -> str:
    if not found.columns:
        return ("No active runs." if not found.hidden else "No active runs that you take part in.") + others(found.hidden)
    lines: list[str] = []
    for workflow_id, phases in found.columns.items():
        lines.append(f"*{escape(workflow_id)}*")
        for phase, runs in phases.items():
            names = ", ".join(f"`{r.run_id}`" for r in runs) or "—"
            lines.append(f"  {escape(phase or 'runs')}: {names}")
    return "\n".join(lines) + others(found.hidden)


def waiting_list(items: list[WaitingItem]) -> str:
    if not items:
        return "Nothing waits on you."
    lines = ["*Waiting on you*"]
    for item in items:
        overdue = " *(overdue)*" if item.overdue else ""
        lines.append(f"• `{item.run_id}` {escape(item.title)} ({item.kind}){overdue}")
    return "\n".join(lines)


def status(found: RunStatus) -> str:
    run = found.summary
    lines = [f"*{escape(run.title)}* `{run.run_id}`: {run.status}" + (f" [{escape(run.phase)}]" if run.phase else "")]
    lines += [f"• {escape(title)}: {state.replace('_', ' ')}" for title, state in found.steps]
    return "\n".join(lines)


def sentence(text: str) -> str:
    """A use case's words as a sentence (escaped: they may quote what a person typed)."""
    shown = escape(text)
    return shown[:1].upper() + shown[1:] + ("" if shown.endswith((".", "?", "!")) else ".")


def started(workflow_id: str, decided: Decision) -> str:
    shown = escape(workflow_id)
    match decided:
        case Accepted(run_id=run_id):
            return f"Started `{shown}` as run `{run_id}`."
        case Duplicate():  # the same request again (its trigger id): told once
            return already_handled("start")
        case Refused(field_errors=errors) if errors:
            listed = "\n".join(f"• `{escape(name)}` {escape(why)}" for name, why in errors.items())
            return f"Could not start `{shown}`:\n{listed}\nGive them as `name=value`."
        case Refused(text=text):
            return f"Could not start `{shown}`: {escape(text)}."
        case Ignored():
            return ""
        case _:
            assert_never(decided)


def cancelled(run_id: str, decided: Decision) -> str:
    shown = escape(run_id)
    match decided:
        case Accepted():
            return f"Run `{shown}` cancelled."
        case Duplicate():
            return already_handled("cancel")
        case Refused(text=text):
            return f"Not cancelled: {escape(text)}."
        case Ignored():
            return ""
        case _:
            assert_never(decided)


def reloaded(result: Reloaded) -> str:
    if not result.problems:
        return f"Reloaded {result.files} workflow file(s)."
    return f"Some files were refused; their previous versions keep running:\n{problems(result.problems)}"


def reload_problems_for_admins(actor: str, found: tuple[str, ...]) -> str:
    return (f"<@{actor}> reloaded the workflow files; some were refused and their previous "
            f"versions keep running:\n{problems(found)}")


def steered(result: Steered) -> str:
    workflow_id = escape(result.workflow_id)
    match result.action:
        case "pause":
            return f"`{workflow_id}` is paused: no scheduled runs until `/conductor standup resume {workflow_id}`."
        case "resume":
            return f"`{workflow_id}` runs on schedule again."
        case _:
            return f"The next scheduled run of `{workflow_id}` will be skipped."


def away_days(found: AwayDays) -> str:
    if not found.periods:
        return "You are not marked away. `/conductor away 2026-03-02..2026-03-06` to set it."
    return "You are away " + ", ".join(f"{a:%a %d %b}–{b:%a %d %b}" if a != b else f"{a:%a %d %b}"
                                       for a, b in found.periods) + "."


def back(found: Back) -> str:
    return f"Welcome back: {found.removed} away period(s) removed." if found.removed else "You were not marked away."


def away_set(found: AwaySet) -> str:
    return f"Marked away {found.first:%a %d %b}–{found.last:%a %d %b}: stand-ups will not ask or remind you."


def unreadable_period(why: str) -> str:
    return (f"Could not read that ({escape(why)}): write `/conductor away 2026-03-02..2026-03-06` "
            "(first and last day).")


def problems(lines: Iterable[str], limit: int = 20) -> str:
    """Problems of workflow files (`path:line:col: CODE message`), escaped, in a code block;
    at most `limit`, then how many more."""
    shown = list(lines)
    more = f"\n…and {len(shown) - limit} more (run `conductor validate`)" if len(shown) > limit else ""
    body = "\n".join(escape(line) for line in shown[:limit]).replace("```", "ʼʼʼ")
    return f"```{body}```{more}"
