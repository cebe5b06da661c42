"""The comparisons and cases table: one row per shadow compared, and per take-over.

A row is a case when a person's outputs stand where code's did not: a take-over of an
escalated automation, or a shadow that disagreed (or failed). Agreeing rows are the evidence
`conductor promote` counts. No foreign key to `runs`: the evidence outlives the runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, JSONType, NullableJSONType, utcnow


class ShadowCase(Base):
    __tablename__ = "shadow_cases"
    __table_args__ = (Index("ix_shadow_cases_workflow_step", "workflow_id", "step_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(unique=True)  # <run>:<step>:<attempt>:<source>: recorded once
    workflow_id: Mapped[str]
    run_id: Mapped[str]
    step_id: Mapped[str]
    attempt: Mapped[int]
    source: Mapped[str]  # shadow, take_over
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    person: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str | None]
    candidate: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType, nullable=True)
    candidate_status: Mapped[str | None]
    candidate_error: Mapped[str | None]
    agreed: Mapped[bool | None]
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_case(self) -> bool:
        return self.source == "take_over" or self.agreed is False
