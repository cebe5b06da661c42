"""An index on the audit log's event type: `/metrics` counts escalations by type at every scrape.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_audit_events_type"), "audit_events", ["type"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_type"), table_name="audit_events")
