"""Pipelines and their stages."""

from __future__ import annotations

import uuid

from fastapi import Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.context import Context
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.sales.models import Pipeline, Stage
from rapport.sales.schemas import (
    PipelineIn,
    PipelineOut,
    PipelinePatch,
    StageIn,
    StageOut,
    StagePatch,
)
from rapport.sales.service import pipelines

router = domain_router(prefix="/pipelines", tags=["pipelines"])


def pipeline_out(
    pipeline: Pipeline, stages: list[Stage] | None = None, *, ctx: Context | None = None
) -> PipelineOut:
    """A pipeline with its stages, read with ``ctx`` when they are not given."""
    if stages is None:
        assert ctx is not None
        stages = pipelines.stages_of(ctx, pipeline.id)
    out = PipelineOut.model_validate(pipeline)
    out.stages = [StageOut.model_validate(s) for s in stages]
    return out


@router.get(
    "",
    response_model=list[PipelineOut],
    responses=problems(401, 403),
    dependencies=[requires("pipelines:read")],
)
def list_(ctx: Ctx) -> list[PipelineOut]:
    """Every pipeline of the workspace with its stages, in board order."""
    return [pipeline_out(p, s) for p, s in pipelines.list_pipelines(ctx)]


@router.post(
    "",
    response_model=PipelineOut,
    status_code=201,
    responses=problems(401, 403, 422),
    dependencies=[requires("pipelines:write")],
)
def create(body: PipelineIn, ctx: Ctx, response: Response) -> PipelineOut:
    """Create a pipeline (with the standard stages unless you list your own)."""
    out = pipeline_out(pipelines.create(ctx, body), ctx=ctx)
    response.headers["ETag"] = etag(out.version)
    return out


@router.post(
    "/default",
    response_model=PipelineOut,
    responses=problems(401, 403),
    dependencies=[requires("pipelines:write")],
)
def ensure_default(ctx: Ctx) -> PipelineOut:
    """The default pipeline, created with the standard stages if the workspace has none."""
    return pipeline_out(pipelines.ensure_default(ctx), ctx=ctx)


@router.get(
    "/{pipeline_id}",
    response_model=PipelineOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("pipelines:read")],
)
def get(pipeline_id: uuid.UUID, ctx: Ctx, response: Response) -> PipelineOut:
    """One pipeline with its stages."""
    out = pipeline_out(pipelines.get(ctx, pipeline_id), ctx=ctx)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch(
    "/{pipeline_id}",
    response_model=PipelineOut,
    responses=problems(401, 403, 404, 412, 422),
    dependencies=[requires("pipelines:write")],
)
def update(pipeline_id: uuid.UUID, body: PipelinePatch, ctx: Ctx, version: IfMatch) -> PipelineOut:
    """Rename a pipeline, set its currency or make it the default."""
    return pipeline_out(pipelines.update(ctx, pipeline_id, body, expected_version=version), ctx=ctx)


@router.delete(
    "/{pipeline_id}",
    status_code=204,
    responses=problems(401, 403, 404, 409, 412),
    dependencies=[requires("pipelines:write")],
)
def delete(pipeline_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> None:
    """Delete a pipeline that holds no deals."""
    pipelines.delete(ctx, pipeline_id, expected_version=version)


@router.get(
    "/{pipeline_id}/stages",
    response_model=list[StageOut],
    responses=problems(401, 403, 404),
    dependencies=[requires("pipelines:read")],
)
def list_stages(pipeline_id: uuid.UUID, ctx: Ctx) -> list[StageOut]:
    """The stages of a pipeline in board order."""
    return [StageOut.model_validate(s) for s in pipelines.list_stages(ctx, pipeline_id)]


@router.post(
    "/{pipeline_id}/stages",
    response_model=StageOut,
    status_code=201,
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("pipelines:write")],
)
def add_stage(pipeline_id: uuid.UUID, body: StageIn, ctx: Ctx) -> StageOut:
    """Add a stage at a position (default: the end)."""
    return StageOut.model_validate(pipelines.add_stage(ctx, pipeline_id, body))


@router.patch(
    "/{pipeline_id}/stages/{stage_id}",
    response_model=StageOut,
    responses=problems(401, 403, 404, 412, 422),
    dependencies=[requires("pipelines:write")],
)
def update_stage(
    pipeline_id: uuid.UUID, stage_id: uuid.UUID, body: StagePatch, ctx: Ctx, version: IfMatch
) -> StageOut:
    """Rename, re-weight or reorder a stage."""
    stage = pipelines.update_stage(ctx, pipeline_id, stage_id, body, expected_version=version)
    return StageOut.model_validate(stage)


@router.delete(
    "/{pipeline_id}/stages/{stage_id}",
    status_code=204,
    responses=problems(401, 403, 404, 409, 412),
    dependencies=[requires("pipelines:write")],
)
def delete_stage(pipeline_id: uuid.UUID, stage_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> None:
    """Remove a stage no deal is in."""
    pipelines.delete_stage(ctx, pipeline_id, stage_id, expected_version=version)
