"""The relational schema: workflow versions, runs, steps, timers, audit, outbox, inbound dedupe,
away periods, schedule pauses, and the people and user groups read from Slack.

Conventions:

* Every timestamp is timezone-aware and stored in UTC (`UTCDateTime`). Binding a naive
  datetime is an error; values read back are always aware and in UTC, on every backend.
* JSON columns are `JSON` everywhere and `JSONB` on PostgreSQL.
* Constraint and index names come from `NAMING_CONVENTION`, so migrations can name them
  deterministically on every backend.
* Status columns are plain strings guarded by CHECK constraints; the allowed values are
  the tuples below. Adding a value needs a migration.

Any change here needs a matching migration in `migrations/versions/`
(`bot.store.migrate.check` fails while the two disagree).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES: tuple[str, ...] = ("running", "waiting", "completed", "failed", "cancelled")
STEP_STATUSES: tuple[str, ...] = (
    "pending",
    "scheduled",
    "waiting_on_person",
    "running",
    "retry_wait",
    "escalated",
    "completed",
    "skipped",
    "failed",
    "cancelled",
)
OUTBOX_KINDS: tuple[str, ...] = ("post", "update", "ephemeral", "dm", "view")
OUTBOX_STATUSES: tuple[str, ...] = ("pending", "sending", "sent", "failed")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that only accepts aware datetimes and stores them in UTC.

    SQLite has no time zone support, so values are normalised to UTC before binding
    (which also keeps string comparisons in SQLite correct) and marked UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
# For nullable JSON columns: Python None is SQL NULL rather than the JSON literal `null`.
NullableJSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and type mapping."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), str: String()}


class WorkflowVersion(Base):
    """One exact YAML source of a workflow, kept so every run can name what it ran."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[str]
    # sha256 hex digest of the YAML source.
    version: Mapped[str]
    name: Mapped[str]
    path: Mapped[str]
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One execution of a workflow version, with the engine's full serialized state.

    `lock_version` is the mapper's version counter (0 when inserted): every ORM flush of
    a run checks and bumps it, so two writers holding the same run cannot silently
    overwrite each other (the loser gets `sqlalchemy.orm.exc.StaleDataError`).
    """

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        Index("ix_runs_workflow_id_status", "workflow_id", "status"),
        Index("ix_runs_channel_thread_ts", "channel", "thread_ts"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    workflow_id: Mapped[str]
    workflow_version_id: Mapped[int] = mapped_column(ForeignKey("workflow_versions.id"))
    status: Mapped[str] = mapped_column(default="running", index=True)
    phase: Mapped[str | None]
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    started_by: Mapped[str | None]
    channel: Mapped[str | None]
    thread_ts: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    workflow_version: Mapped[WorkflowVersion] = relationship()
    step_runs: Mapped[list[StepRun]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StepRun.id",
    )

    __mapper_args__ = {
        "version_id_col": lock_version,
        # Inserted runs start at 0 (SQLAlchemy's default generator would start at 1).
        "version_id_generator": lambda current: 0 if current is None else current + 1,
    }


class StepRun(Base):
    """One attempt at one step of a run: who it waits on, what it produced, how it ended.
    (`assignee` joins every person a step asks, a stand-up's hundreds too: it is not indexed.)"""

    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", "attempt"),
        CheckConstraint(_one_of("status", STEP_STATUSES), name="status"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str]
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(default="pending")
    assignee: Mapped[str | None]
    outputs: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    run: Mapped[Run] = relationship(back_populates="step_runs")


class Timer(Base):
    """A durable wake-up (reminder, deadline, retry, ...) for a run or one of its steps.

    `key` is unique, so setting "the reminder for step X, attempt N" twice is a no-op.
    A timer is live while both `fired_at` and `cancelled_at` are NULL.
    """

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str | None]
    kind: Mapped[str]
    due_at: Mapped[datetime] = mapped_column(index=True)
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    key: Mapped[str] = mapped_column(unique=True)


class AuditEvent(Base):
    """An append-only record of something that happened (who did what, when, to which run).

    Rows are never updated or deleted: ORM code that tries raises `AuditEventImmutable`
    (see the mapper and session hooks below). Runs that have audit events therefore cannot
    be deleted either; the foreign key has no ON DELETE action on purpose.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[str | None]
    actor: Mapped[str | None]
    type: Mapped[str] = mapped_column(index=True)  # counted by type for /metrics
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxMessage(Base):
    """A Slack call waiting to be made (post, update, ephemeral, DM, view).

    Writes to Slack go through here in the same transaction as the state change that
    caused them; a sender delivers `pending` rows whose `next_attempt_at` has passed.
    `dedupe_key` makes enqueueing idempotent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("kind", OUTBOX_KINDS), name="kind"),
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str]
    # Identifies the thread a message belongs to before its Slack `ts` is known.
    thread_key: Mapped[str | None]
    kind: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    slack_ts: Mapped[str | None]
    error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # When the messenger last began a Slack call for the row (see bot/slack/messenger.py).
    claimed_at: Mapped[datetime | None]


class InboundEvent(Base):
    """A Slack event or action already handled; inserting the same key twice fails.

    Handlers insert the key in the transaction that applies the event, so redeliveries
    and retries from Slack are recognised and dropped.
    """

    __tablename__ = "inbound_events"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEventImmutable(RuntimeError):
    """Raised when ORM code tries to update or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditEventImmutable(f"audit event {target.id} is append-only and cannot be updated")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditEventImmutable(f"audit event {target.id} is append-only and cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    """Also refuse ORM-enabled `update(AuditEvent)` / `delete(AuditEvent)` statements."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditEvent for mapper in state.all_mappers
    ):
        raise AuditEventImmutable("audit events are append-only")


class AwayPeriod(Base):
    """Days a person is away (inclusive): stand-ups neither ask nor remind them."""

    __tablename__ = "away_periods"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulePause(Base):
    """A workflow's scheduled runs, paused (until resumed) or skipped once, by a lead."""

    __tablename__ = "schedule_pauses"

    workflow_id: Mapped[str] = mapped_column(String, primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    skip_next: Mapped[bool] = mapped_column(default=False)
    changed_by: Mapped[str | None]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# People, as the refresher (`bot.slack.people`) last read them from Slack. The engine reads
# these instead of asking Slack, so no transition waits on the network. Each row says when
# Slack last confirmed it: a full refresh leaves alone a row an event refreshed after it began.
class Person(Base):
    """A member of the Slack workspace: their name and IANA time zone (None when unknown)."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(default="")
    tz: Mapped[str | None]
    deleted: Mapped[bool] = mapped_column(default=False)  # deactivated: in no group any more
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserGroup(Base):
    """A Slack user group (`S…`) that is enabled; its members are `UserGroupMember` rows."""

    __tablename__ = "user_groups"

    group_id: Mapped[str] = mapped_column(String, primary_key=True)
    handle: Mapped[str] = mapped_column(default="")
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserGroupMember(Base):
    """One member of a user group. No foreign key to `people`: a group event may name someone
    the next full refresh has not read yet, and membership must not wait for that."""

    __tablename__ = "user_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("user_groups.group_id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String, primary_key=True)


# Registered on the same metadata (migrations, drift checks): shadow comparisons and cases.
from bot.shadow import tables as _shadow_tables  # noqa: E402,F401
