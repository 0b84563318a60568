"""Forecast and pipeline analytics for the sales dashboard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

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


@router.get(
    "/weighted-pipeline", response_model=list[WeightedRow], responses=problems(401, 403, 422)
)
def weighted(ctx: Ctx, pipeline_id: PipelineParam = None) -> list[dict[str, Any]]:
    """Open and probability-weighted amounts by expected-close month, owner and currency."""
    return forecast.weighted_pipeline(ctx, pipeline_id=pipeline_id)


@router.get("/forecast", response_model=ForecastOut, responses=problems(401, 403, 422))
def forecast_(
    ctx: Ctx,
    pipeline_id: PipelineParam = None,
    min_history: Annotated[int, Query(ge=1, le=10_000)] = forecast.MIN_HISTORY,
) -> ForecastOut:
    """Expected won amount per stage from historical stage-to-won conversion."""
    stages, totals = forecast.forecast(ctx, pipeline_id=pipeline_id, min_history=min_history)
    return ForecastOut(
        stages=[ForecastStage.model_validate(s, from_attributes=True) for s in stages],
        totals=totals,
    )


@router.get("/summary", response_model=SummaryOut, responses=problems(401, 403, 422))
def summary(
    ctx: Ctx,
    pipeline_id: PipelineParam = None,
    since: Annotated[datetime | None, Query(description="Only deals closed since")] = None,
) -> dict[str, Any]:
    """Win rate, average deal size and average sales cycle (of the deals closed since)."""
    if since is not None and since.tzinfo is None:
        raise invalid(("since",), "give a time zone, e.g. 2030-01-01T00:00:00Z")
    return forecast.summary(ctx, pipeline_id=pipeline_id, since=since)


@router.get("/funnel", response_model=list[FunnelStage], responses=problems(401, 403, 404))
def funnel(ctx: Ctx, pipeline_id: PipelineParam = None) -> list[dict[str, Any]]:
    """Deals that entered each stage and the share that went on to the next."""
    return forecast.funnel(ctx, pipeline_id=pipeline_id)


@router.get("/bottlenecks", response_model=list[BottleneckStage], responses=problems(401, 403, 404))
def bottlenecks(
    ctx: Ctx,
    pipeline_id: PipelineParam = None,
    factor: Annotated[float, Query(gt=1, le=100)] = 1.5,
) -> list[dict[str, Any]]:
    """Stages where open deals sit longer than past deals did, by ``factor``."""
    return forecast.bottlenecks(ctx, pipeline_id=pipeline_id, factor=factor)
