"""``GET /jobs``: the state of the workspace's background work, for owners and admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.jobs import status as jobs_status

router = domain_router(prefix="/jobs", tags=["jobs"])


class DeliveryProblemOut(BaseModel):
    """A consumer that failed on an event: retried with backoff while ``failed``, given up
    on once ``dead`` (``rapport jobs retry`` puts it back in line)."""

    id: uuid.UUID
    event_id: uuid.UUID
    topic: str
    consumer: str
    status: str = Field(description="failed | dead")
    attempts: int
    last_error: str | None
    updated_at: datetime


class ScheduleOut(BaseModel):
    name: str
    interval_seconds: float
    next_run_at: datetime | None
    last_run_at: datetime | None
    runs: int


class JobsStatusOut(BaseModel):
    pending_events: int = Field(description="Events not yet handed to consumers (capped)")
    deliveries: dict[str, int] = Field(description="Deliveries by status: queued failed dead done")
    capped_at: int = Field(description="Counts stop at this number")
    problems: list[DeliveryProblemOut]
    schedules: list[ScheduleOut]


@router.get(
    "",
    response_model=JobsStatusOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("workspace:manage")],
)
def status(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500, description="Most problems shown")] = 100
) -> JobsStatusOut:
    """Pending events, deliveries by status, the failing ones with their last error, and
    the periodic tasks' schedule."""
    state = jobs_status.status(ctx.session, limit=limit)
    return JobsStatusOut(
        pending_events=state.pending_events,
        deliveries=state.deliveries,
        capped_at=state.capped_at,
        problems=[
            DeliveryProblemOut.model_validate(p, from_attributes=True) for p in state.problems
        ],
        schedules=[ScheduleOut.model_validate(s, from_attributes=True) for s in state.schedules],
    )
