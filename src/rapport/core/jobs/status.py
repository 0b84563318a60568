"""What background work is doing: pending events, deliveries by state, the failures with their
last error, the schedule — for ``rapport jobs status`` and ``GET /api/v1/jobs``; and putting
failed or dead deliveries back in line (``rapport jobs retry``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from rapport.core.clock import utcnow
from rapport.core.events import OutboxEvent
from rapport.core.jobs import work
from rapport.core.jobs.models import (
    DEAD,
    DONE,
    FAILED,
    LOST_AFTER,
    QUEUED,
    JobSchedule,
    OutboxDelivery,
)

COUNT_CAP = 10_000  # counts stop here ("10,000+"): never an unbounded count


@dataclass
class Problem:
    id: uuid.UUID
    workspace_id: uuid.UUID
    event_id: uuid.UUID
    topic: str
    consumer: str
    status: str
    attempts: int
    last_error: str | None
    updated_at: datetime


@dataclass
class Schedule:
    name: str
    interval_seconds: float
    next_run_at: datetime | None
    last_run_at: datetime | None
    runs: int


@dataclass
class Status:
    pending_events: int
    deliveries: dict[str, int]  # by status, each capped at COUNT_CAP
    problems: list[Problem]  # failed and dead deliveries, most recent first
    schedules: list[Schedule]
    capped_at: int = COUNT_CAP


def _capped(session: Session, query: Select[Any]) -> int:
    counted = session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery()))
    return int(counted or 0)


def status(session: Session, *, limit: int = 100) -> Status:
    """The state of background work as ``session`` sees it: its workspace's, or every
    workspace's for an unscoped (operator) session."""
    work.load_job_modules()
    pending = _capped(session, select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)))
    counts = {
        state: _capped(session, select(OutboxDelivery.id).where(OutboxDelivery.status == state))
        for state in (QUEUED, FAILED, DEAD, DONE)
    }
    rows = session.execute(
        select(OutboxDelivery, OutboxEvent.topic)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(OutboxDelivery.status.in_((FAILED, DEAD)))
        .order_by(OutboxDelivery.updated_at.desc())
        .limit(limit)
    ).all()
    problems = [
        Problem(
            d.id,
            d.workspace_id,
            d.event_id,
            topic,
            d.consumer,
            d.status,
            d.attempts,
            d.last_error,
            d.updated_at,
        )
        for d, topic in rows
    ]
    stored = {row.name: row for row in session.scalars(select(JobSchedule))}
    schedules = []
    for task in sorted(work.PERIODIC.values(), key=lambda t: t.name):
        row = stored.get(task.name)
        schedules.append(
            Schedule(
                task.name,
                task.interval.total_seconds(),
                row.next_run_at if row else None,
                row.last_run_at if row else None,
                row.runs if row else 0,
            )
        )
    return Status(pending, counts, problems, schedules)


def retry(session: Session, ids: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Put failed and dead deliveries (all, or these) back in line with fresh attempts. They
    are marked as if their message were lost, so the next relay sweep sends them again."""
    query = select(OutboxDelivery.id).where(OutboxDelivery.status.in_((FAILED, DEAD)))
    if ids is not None:
        query = query.where(OutboxDelivery.id.in_(ids))
    chosen = list(session.scalars(query.limit(COUNT_CAP)))
    if chosen:
        session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id.in_(chosen))
            .values(status=QUEUED, attempts=0, updated_at=utcnow() - LOST_AFTER - timedelta(1))
            .execution_options(synchronize_session=False)
        )
    return chosen
