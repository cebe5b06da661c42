"""Shadow comparisons and cases: one row per shadow run compared with the person's answer,
and per take-over of an escalated automation. A new table only, so the previous release keeps
working beside it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "shadow_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("person", JSON, nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("candidate", NULLABLE_JSON, nullable=True),
        sa.Column("candidate_status", sa.String(), nullable=True),
        sa.Column("candidate_error", sa.String(), nullable=True),
        sa.Column("agreed", sa.Boolean(), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_cases")),
        sa.UniqueConstraint("key", name=op.f("uq_shadow_cases_key")),
    )
    op.create_index("ix_shadow_cases_workflow_step", "shadow_cases", ["workflow_id", "step_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_shadow_cases_workflow_step", table_name="shadow_cases")
    op.drop_table("shadow_cases")
