"""The tables behind background work: one delivery row per (outbox event, consumer), and one
row per periodic task that says when it runs next (the cluster-wide lock of the scheduler)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rapport.core.clock import utcnow
from rapport.core.db import Base, WorkspaceScoped

QUEUED, DONE, FAILED, DEAD = "queued", "done", "failed", "dead"
# A queued delivery untouched this long is presumed lost: the relay sends it again, and a
# retried one is back-dated past it. Longer than the largest retry backoff.
LOST_AFTER = timedelta(minutes=15)


class OutboxDelivery(WorkspaceScoped, Base):
    """One consumer's handling of one event: marked ``done`` in the consumer's own transaction,
    so a consumer that succeeded is never re-run when another one fails and is retried."""

    __tablename__ = "outbox_deliveries"
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), nullable=False
    )
    consumer: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)  # queued done failed dead
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("event_id", "consumer"),
        Index("ix_outbox_deliveries_status", "status", "updated_at"),
        Index("ix_outbox_deliveries_ws_status", "workspace_id", "status"),
    )


class JobSchedule(Base):
    """When a periodic task runs next; claimed by a compare-and-set UPDATE, so of several
    workers exactly one runs each tick."""

    __tablename__ = "job_schedules"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    runs: Mapped[int] = mapped_column(default=0)
