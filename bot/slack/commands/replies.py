"""Short, private answers to `/conductor` commands, as Slack mrkdwn text (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.engine.queries import RunSummary, WaitingItem

HELP = """*Conductor* conducts workflows of people and automations.
• `/conductor start <workflow> [name=value ...]` start a run
• `/conductor list` workflows you can start
• `/conductor runs` active runs · `/conductor status <run>` one run
• `/conductor board [workflow]` runs by phase · `/conductor mine` what waits on you
• `/conductor cancel <run>` · `/conductor reload` load the workflow files again (admins)
• `/conductor diagnose` people or code? four questions
• `/conductor standup pause|resume|skip [workflow]` steer a stand-up's schedule (leads)
• `/conductor away 2026-03-02..2026-03-06` stand-ups leave you alone those days (`away off` to undo)"""


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


def run_list(runs: list[RunSummary]) -> str:
    return "*Active runs*\n" + "\n".join(run_line(r) for r in runs) if runs else "No active runs."


def board(columns: dict[str, dict[str, list[RunSummary]]]) -> str:
    if not columns:
        return "No active runs."
    lines: list[str] = []
    for workflow_id, phases in columns.items():
        lines.append(f"*{escape(workflow_id)}*")
        for phase, runs in phases.items():
            names = ", ".join(f"`{r.run_id}`" for r in runs) or "—"
            lines.append(f"  {escape(phase or 'runs')}: {names}")
    return "\n".join(lines)


def waiting_list(items: list[WaitingItem]) -> str:
    if not items:
        return "Nothing waits on you."
    lines = ["*Waiting on you*"]
    for item in items:
        overdue = " *(overdue)*" if item.overdue else ""
        lines.append(f"• `{item.run_id}` {escape(item.title)} ({item.kind}){overdue}")
    return "\n".join(lines)


def status(run: RunSummary, steps: list[tuple[str, str]]) -> str:
    lines = [f"*{escape(run.title)}* `{run.run_id}`: {run.status}" + (f" [{escape(run.phase)}]" if run.phase else "")]
    lines += [f"• {escape(title)}: {state.replace('_', ' ')}" for title, state in steps]
    return "\n".join(lines)


def problems(lines: Iterable[str], limit: int = 20) -> str:
    """Problems of workflow files (`path:line:col: CODE message`), escaped, in a code block;
    at most `limit`, then how many more."""
    shown = list(lines)
    more = f"\n…and {len(shown) - limit} more (run `conductor validate`)" if len(shown) > limit else ""
    body = "\n".join(escape(line) for line in shown[:limit]).replace("```", "ʼʼʼ")
    return f"```{body}```{more}"
