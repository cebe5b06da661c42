"""A report for people: text with small bar charts of the rates (unicode blocks), or CSV with
one row per figure."""

from __future__ import annotations

import csv as csv_module
import io
from typing import Any

from bot.insights.report import Report

BAR_WIDTH = 20
_EIGHTHS = " ▏▎▍▌▋▊▉"
AUTOMATION_RATES = (("first try", "first_try_success"), ("escalated", "escalation"),
                    ("taken over", "take_over"), ("skipped", "skip"))
PERSON_RATES = (("reassigned", "reassign"), ("need help", "need_help"), ("looped back", "rejection_loop"))


def bar(share: float | None, width: int = BAR_WIDTH) -> str:
    """A bar `width` characters wide, filled to `share` in eighths of a character."""
    if share is None:
        return "·" * width
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text + " " * (width - len(text))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.1f}s"


def _rate_line(label: str, rate: dict[str, Any]) -> str:
    value = rate.get("rate")
    shown = "  -" if value is None else f"{100 * value:3.0f}%"
    interval = "" if rate.get("low") is None else f"  [{100 * rate['low']:.0f}–{100 * rate['high']:.0f}%]"
    return f"    {label:<12} {bar(value)} {shown}  {rate['count']}/{rate['runs']}{interval}"


def text(report: Report) -> str:
    data = report.to_json()
    out = [f"Insights since {data['since'][:16].replace('T', ' ')} ({data['window']}), "
           f"generated {data['generated_at'][:16].replace('T', ' ')}", ""]
    for workflow in data["workflows"]:
        out.append(f"{workflow['id']} — {workflow['runs']} runs")
        for step in workflow["steps"]:
            out += _step_lines(step, report.min_runs)
        if workflow["phases"]:
            out.append("  phases (mean per run: person █ · code ▒ · time ░)")
            for phase in workflow["phases"]:
                out += _phase_lines(phase)
        out.append("")
    out.append("Advisories" if data["advisories"] else "Advisories: none")
    for advisory in data["advisories"]:
        where = f"{advisory['workflow']}/{advisory['step']}" if advisory["step"] else advisory["workflow"]
        out.append(f"  [{advisory['kind']}] {where}: {advisory['summary']}")
        ids = advisory["evidence"]["run_ids"]
        if ids:
            out.append(f"    runs: {', '.join(ids)}")
        if advisory["suggestion"]:
            out += ["    " + line for line in advisory["suggestion"].rstrip("\n").splitlines()]
    return "\n".join(out) + "\n"


def _step_lines(step: dict[str, Any], min_runs: int) -> list[str]:
    head = f"  {step['id']} ({step['kind']}, {step.get('role', '')}) {step['runs']} runs"
    if not step.get("enough_runs"):
        head += f" — not enough runs yet (fewer than {min_runs})"
    lines = [head]
    if step["kind"] == "automation":
        lines += [_rate_line(label, step[key]) for label, key in AUTOMATION_RATES]
        if step.get("reviewed"):  # `review:`: the share of reviewed runs a person corrected
            lines.append(_rate_line("corrected", step["correction"]))
        d = step["duration_seconds"]
        lines.append(f"    tries {step['tries']}, mean retries {step['mean_retries']}; duration median "
                     f"{duration(d['median'])}, p90 {duration(d['p90'])}, max {duration(d['max'])}")
        for cause in step["failure_causes"][:3]:
            lines.append(f"    {cause['count']:>5} × {cause['cause']}")
    elif "asked" in step:
        lines += [_rate_line(label, step[key]) for label, key in PERSON_RATES]
        h = step["handling_seconds"]
        lines.append(f"    asked {step['asked']}; asked → answered median {duration(h['median'])}, "
                     f"p90 {duration(h['p90'])}")
        for found in step["regularity"]:
            lines.append(f"    rule  {bar(found['share'], 10)} {found['text']}")
    return lines


def stacked(shares: dict[str, float], width: int = BAR_WIDTH) -> str:
    """One bar split between person (█), code (▒) and time (░), by their shares."""
    cells = {w: round(shares.get(w, 0.0) * width) for w in ("person", "code", "time")}
    return ("█" * cells["person"] + "▒" * cells["code"] + "░" * cells["time"])[:width].ljust(width)


def _phase_lines(phase: dict[str, Any]) -> list[str]:
    waits = phase["waiting_seconds"]
    top = phase["bottleneck"]
    where = f"; longest: {top['role']} ({top['wait']})" if top else ""
    cycle = phase["cycle_seconds"]
    return [f"    {phase['phase']:<12} {stacked(phase['waiting_share'])} {duration(waits['person'])} · "
            f"{duration(waits['code'])} · {duration(waits['time'])}  cycle median {duration(cycle['median'])}{where}"]


CSV_COLUMNS = ("workflow", "step", "kind", "figure", "value", "count", "runs", "low", "high")


def csv(report: Report) -> str:
    """One row per figure: rates with their counts and interval, durations in seconds."""
    buffer = io.StringIO()
    writer = csv_module.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    data = report.to_json()
    for workflow in data["workflows"]:
        wid = workflow["id"]
        writer.writerow([wid, "", "workflow", "runs", workflow["runs"], "", "", "", ""])
        for step in workflow["steps"]:
            for key, value in step.items():
                if isinstance(value, dict) and "rate" in value:
                    writer.writerow([wid, step["id"], step["kind"], key, value["rate"], value["count"],
                                     value["runs"], value["low"], value["high"]])
                elif isinstance(value, dict) and "median" in value:
                    for q in ("median", "p90", "max"):
                        writer.writerow([wid, step["id"], step["kind"], f"{key}.{q}", value[q], value["count"], "", "", ""])
                elif key in ("tries", "attempts", "asked", "mean_retries", "runs"):
                    writer.writerow([wid, step["id"], step["kind"], key, value, "", "", "", ""])
            for found in step.get("regularity", []):
                writer.writerow([wid, step["id"], step["kind"], f"rule.{found['field']}", found["share"],
                                 found["matched"], found["runs"], "", ""])
        for phase in workflow["phases"]:
            for wait, seconds in phase["waiting_seconds"].items():
                writer.writerow([wid, phase["phase"], "phase", f"waiting_seconds.{wait}", seconds, "", phase["runs"], "", ""])
    for advisory in data["advisories"]:
        e = advisory["evidence"]
        writer.writerow([advisory["workflow"], advisory["step"] or "", "advisory", advisory["kind"], e["rate"],
                         e["count"], e["runs"], e["low"], e["high"]])
    return buffer.getvalue()
