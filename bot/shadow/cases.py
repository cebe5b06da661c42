"""Cases: what a person did where code did not (a take-over) or did otherwise (a shadow that
disagreed or failed), read from `shadow_cases` and written out as JSON fixtures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from bot.shadow.tables import ShadowCase


def read_cases(url: str, workflow_id: str, step_id: str, *, every: bool = False) -> list[dict[str, Any]]:
    """The step's cases, oldest first; with `every`, every comparison recorded (agreements too)."""
    from bot.store.db import make_engine

    engine = make_engine(url)
    try:
        query = select(ShadowCase).where(ShadowCase.workflow_id == workflow_id, ShadowCase.step_id == step_id)
        if not every:
            query = query.where(or_(ShadowCase.source == "take_over", ShadowCase.agreed.is_(False)))
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(ShadowCase.id)).mappings().all()
        return [fixture(dict(row)) for row in rows]
    finally:
        engine.dispose()


def fixture(row: dict[str, Any]) -> dict[str, Any]:
    """One case as a fixture: what the step was given, what the person and the candidate said."""
    created: Any = row.get("created_at")
    return {
        "workflow": row["workflow_id"], "step": row["step_id"], "run_id": row["run_id"], "attempt": row["attempt"],
        "source": row["source"], "recorded_at": created.isoformat() if hasattr(created, "isoformat") else created,
        "inputs": row.get("inputs") or {}, "person": row.get("person") or {}, "actor": row.get("actor"),
        "candidate": row.get("candidate"), "candidate_status": row.get("candidate_status"),
        "candidate_error": row.get("candidate_error"), "agreed": row.get("agreed"), "fields": row.get("fields") or {},
    }


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def export_cases(cases: Iterable[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write each case to `<out_dir>/<run>-<attempt>-<source>.json`; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases:
        path = out_dir / f"{_safe(case['run_id'])}-{case['attempt']}-{_safe(case['source'])}.json"
        path.write_text(json.dumps(case, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


def load_fixtures(folder: Path) -> list[dict[str, Any]]:
    """Cases exported before (`*.json` in `folder`), in name order."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
