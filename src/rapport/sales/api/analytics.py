"""Forecast and pipeline analytics for the sales dashboard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.errors import invalid
from rapport.sales.schemas import (
    BottleneckStage,
    ForecastOut,
    ForecastStage,
    FunnelStage,
    SummaryOut,
    WeightedRow,
)
from rapport.sales.service import forecast

router = domain_router(prefix="/sales", tags=["sales analytics"])
PipelineParam = Annotated[uuid.UUID | None, Query(description="Only this pipeline")]
OwnerParam = Annotated[uuid.UUID | None, Query(description="Only this owner's deals")]


@dataclass
class _Period:
    since: datetime | None
    until: datetime | None

    def kwargs(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until}


async def _period(  # no I/O: no trip to the threadpool
    since: Annotated[
        datetime | None, Query(description="From this instant (inclusive), with a time zone")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Up to this instant (exclusive), with a time zone")
    ] = None,
) -> _Period:
    """The period of the historical figures; both ends need a time zone, since before until."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise invalid((name,), "give a time zone, e.g. 2030-01-01T00:00:00Z")
    if since is not None and until is not None and since >= until:
        raise invalid(("until",), "until must be after since")
    return _Period(since, until)


Period = Annotated[_Period, Depends(_period)]


@router.get(
    "/weighted-pipeline",
    response_model=list[WeightedRow],
    responses=problems(401, 403, 422),
    dependencies=[requires("deals:read")],
)
def weighted(
    ctx: Ctx, pipeline_id: PipelineParam = None, owner_id: OwnerParam = None
) -> list[dict[str, Any]]:
    """Open and probability-weighted amounts by expected-close month, owner and currency."""
    return forecast.weighted_pipeline(ctx, pipeline_id=pipeline_id, owner_id=owner_id)


@router.get(
    "/forecast",
    response_model=ForecastOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("deals:read")],
)
def forecast_(
    ctx: Ctx,
    period: Period,
    pipeline_id: PipelineParam = None,
    owner_id: OwnerParam = None,
    min_history: Annotated[int, Query(ge=1, le=10_000)] = forecast.MIN_HISTORY,
) -> ForecastOut:
    """Expected won amount per stage of the open deals, from the stage-to-won conversion of the
    deals closed in the period (``since``/``until``; all history by default)."""
    stages, totals = forecast.forecast(
        ctx, pipeline_id=pipeline_id, min_history=min_history, owner_id=owner_id,
        **period.kwargs(),
    )  # fmt: skip
    return ForecastOut(
        stages=[ForecastStage.model_validate(s, from_attributes=True) for s in stages],
        totals=totals,
    )


@router.get(
    "/summary",
    response_model=SummaryOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("deals:read")],
)
def summary(
    ctx: Ctx, period: Period, pipeline_id: PipelineParam = None, owner_id: OwnerParam = None
) -> dict[str, Any]:
    """Win rate, average deal size and average sales cycle (of the deals closed in the
    period)."""
    return forecast.summary(ctx, pipeline_id=pipeline_id, owner_id=owner_id, **period.kwargs())


@router.get(
    "/funnel",
    response_model=list[FunnelStage],
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("deals:read")],
)
def funnel(
    ctx: Ctx, period: Period, pipeline_id: PipelineParam = None, owner_id: OwnerParam = None
) -> list[dict[str, Any]]:
    """Deals that entered each stage (in the period) and the share that went on to the next."""
    return forecast.funnel(ctx, pipeline_id=pipeline_id, owner_id=owner_id, **period.kwargs())


@router.get(
    "/bottlenecks",
    response_model=list[BottleneckStage],
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("deals:read")],
)
def bottlenecks(
    ctx: Ctx,
    period: Period,
    pipeline_id: PipelineParam = None,
    owner_id: OwnerParam = None,
    factor: Annotated[float, Query(gt=1, le=100)] = 1.5,
) -> list[dict[str, Any]]:
    """Stages where open deals sit longer than past deals (those closed in the period) did,
    by ``factor``."""
    return forecast.bottlenecks(
        ctx, pipeline_id=pipeline_id, factor=factor, owner_id=owner_id, **period.kwargs()
    )
