"""Insights in Block Kit: the private answer to `/conductor insights [workflow]` (advisories,
each with its evidence and interval, then each workflow's top figures by step) and the App
Home's "Insights" lines. Within Slack's limits: 50 blocks a message, 3000 characters a
section, ten fields a section."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import kit
from bot.slack.blocks import text as t
from bot.slack.blocks.kit import Block
from bot.usecases.insights import Advisory, Insights

FIGURES_PER_STEP = 4  # the first figures of each step shown (the report has them all)
RUN_IDS = 3  # runs named as examples of an advisory's evidence
SUGGESTION = 1500  # characters of a suggested YAML change shown (a section holds 3000)


def _share(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0%}" if 0 <= value <= 1 else f"{value:.3g}"


def evidence(advisory: Advisory) -> str:
    """`7 of 40 runs (18%, 95% interval 9%–32%)`."""
    runs = f"{advisory.count} of {advisory.runs} run{'s' if advisory.runs != 1 else ''}"
    if advisory.rate is None:
        return runs
    interval = (f", interval {_share(advisory.low)}–{_share(advisory.high)}"
                if advisory.low is not None and advisory.high is not None else "")
    return f"{runs} ({_share(advisory.rate)}{interval})"


def advisory_line(advisory: Advisory, *, suggestion: bool = True) -> str:
    """One advisory as one line of escaped mrkdwn."""
    where = f"*{t.escape(advisory.workflow)}*" + (f" · `{t.escape(advisory.step)}`" if advisory.step else "")
    said = f"{where}: {t.escape(' '.join(advisory.summary.split()))} — {evidence(advisory)}"
    if suggestion and advisory.suggestion:
        yaml = t.truncate(advisory.suggestion, SUGGESTION).replace("```", "ʼʼʼ")
        said += f"\nTo consider:\n```{t.escape(yaml)}```"
    return said


def advisory_block(advisory: Advisory) -> Block:
    examples = ", ".join(f"`{t.escape(r)}`" for r in advisory.run_ids[:RUN_IDS])
    more = f" (e.g. runs {examples})" if examples else ""
    return kit.section(advisory_line(advisory) + more)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


RATES = ("escalation", "take_over", "skip", "first_try_success", "reassign", "need_help", "rejection_loop")
DISTRIBUTIONS = ("duration_seconds", "handling_seconds")


def _rate_figure(name: str, rate: Any) -> str | None:
    if not isinstance(rate, dict) or rate.get("rate") is None:
        return None
    if not rate.get("count") and name != "first_try_success":
        return None  # a rate of nothing says nothing
    interval = (f" [{_share(rate.get('low'))}–{_share(rate.get('high'))}]"
                if rate.get("low") is not None and rate.get("high") is not None else "")
    return f"{name.replace('_', ' ')} {_share(rate['rate'])}{interval}"


def step_figures(step: dict[str, Any]) -> list[str]:
    """The step's top figures: runs, the median and p90 time, then the rates that happened."""
    shown = [f"{step.get('runs', 0)} runs"]
    for name in DISTRIBUTIONS:
        spread = step.get(name)
        if isinstance(spread, dict) and isinstance(spread.get("median"), int | float):
            p90 = f", p90 {duration(float(spread['p90']))}" if isinstance(spread.get("p90"), int | float) else ""
            shown.append(f"median {duration(float(spread['median']))}{p90}")
    shown += [f for name in RATES if (f := _rate_figure(name, step.get(name)))]
    return shown


def step_field(step: dict[str, Any]) -> str:
    head = f"*{t.escape(step.get('name') or step.get('id') or '?')}* ({t.escape(step.get('kind') or '?')})"
    return head + "\n" + t.escape(" · ".join(step_figures(step)[:FIGURES_PER_STEP]))


def phase_line(phase: dict[str, Any]) -> str:
    """`*Review*: person 2.5h · code 3s · time 0s (mean wait a run); longest: person editor`."""
    waits = phase.get("waiting_seconds") or {}
    parts = [f"{w} {duration(float(waits[w]))}" for w in ("person", "code", "time")
             if isinstance(waits.get(w), int | float)]
    top = phase.get("bottleneck")
    longest = f"; longest wait: {t.escape(top.get('wait'))} ({t.escape(top.get('role'))})" if isinstance(top, dict) else ""
    return f"*{t.escape(phase.get('phase') or 'no phase')}*: {' · '.join(parts) or 'no waits'}{longest}"


def workflow_blocks(workflow: dict[str, Any]) -> list[Block]:
    steps = [s for s in workflow.get("steps") or () if isinstance(s, dict)]
    phases = [p for p in workflow.get("phases") or () if isinstance(p, dict)]
    name = t.escape(workflow.get("name") or workflow.get("id") or "?")
    head = f"*{name}* · {workflow.get('runs', 0)} runs in the period"
    if not steps:
        return [kit.section(head + "\n_no runs in the period_")]
    fields = [step_field(s) for s in steps]
    blocks = [kit.section(head, fields=fields[:10])]
    for start in range(10, len(fields), 10):
        blocks.append(kit.section(f"*{name}* (continued)", fields=fields[start:start + 10]))
    if phases:
        blocks.append(kit.context("Mean wait a run, by phase: " + " | ".join(phase_line(p) for p in phases)))
    return blocks


def render_insights(found: Insights) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of the private answer."""
    report = found.report
    advisories = found.advisories
    named = ", ".join(f"`{t.escape(w)}`" for w in found.workflows) or "your workflows"
    window = t.escape(report.get("window") or f"since {report.get('since') or '?'}")
    generated = t.escape(str(report.get("generated_at") or "")[:16].replace("T", " "))
    blocks: list[Block] = [kit.header("Insights"),
                           kit.context(f"{named} · runs started in the last {window} · as of {generated} UTC")]
    if advisories:
        blocks.append(kit.section(f"*Advisories* ({len(advisories)})"))
        groups = [[advisory_block(a)] for a in advisories]
    else:
        blocks.append(kit.section("*Advisories*\nNothing to advise: no step stands out in the period."))
        groups = []
    workflows = [workflow_blocks(w) for w in report.get("workflows") or () if isinstance(w, dict)]
    room = t.MESSAGE_BLOCKS - len(blocks) - (2 if workflows else 0)
    # Advisories first, but never crowding out every workflow's figures.
    advice_room = room - min(len(workflows), room // 2) if workflows else room
    shown = kit.fit_groups(groups, max(advice_room, 1), noun="more advisories")
    blocks += shown
    if workflows:
        blocks.append(kit.divider())
        blocks += kit.fit_groups(workflows, t.MESSAGE_BLOCKS - len(blocks), noun="more workflows")
    else:
        blocks.append(kit.context(f"No runs of {named} started in the period: no figures yet."))
    fallback = "Insights: " + ("; ".join(f"{a.workflow}/{a.step or '-'}: {a.summary}" for a in advisories[:5])
                               if advisories else "nothing to advise")
    return t.truncate(fallback, 3000), blocks[: t.MESSAGE_BLOCKS]


def home_insights(advisories: tuple[Advisory, ...]) -> list[list[Block]]:
    """The App Home's "Insights" part: one line per advisory, with its evidence."""
    return [[kit.section(advisory_line(a, suggestion=False))] for a in advisories]
