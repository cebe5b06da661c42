"""Insights: which steps belong to people and which to code, from the recorded history.

Pure functions over the store (no Slack): `collect_insights(engine, versions, now=...)` reads
the runs of a window and returns a `Report`; `bot.insights.render` draws it as text or CSV,
and `Report.to_json()` is its stable JSON shape."""

from bot.insights.collect import collect_insights
from bot.insights.report import Advisory, Evidence, Report, WorkflowInsights

__all__ = ["Advisory", "Evidence", "Report", "WorkflowInsights", "collect_insights"]
