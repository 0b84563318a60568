"""Pipelines and their ordered stages. A workspace gets a default pipeline the first time a
deal needs one; stages holding deals cannot be deleted."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import exists, func, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, NotFound, invalid
from rapport.core.events import Changes, check_version, diff_fields, record
from rapport.sales.events import (
    PIPELINE_CREATED,
    PIPELINE_DELETED,
    PIPELINE_UPDATED,
    STAGE_CREATED,
    STAGE_DELETED,
    STAGE_UPDATED,
)
from rapport.sales.models import Deal, Pipeline, Stage
from rapport.sales.schemas import PipelineIn, PipelinePatch, StageIn, StagePatch

DEFAULT_STAGES = (
    ("Qualification", 10, False, False),
    ("Discovery", 25, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
)
_CURRENCY = re.compile(r"[A-Z]{3}")


def check_currency(code: str, loc: tuple[str | int, ...] = ("currency",)) -> str:
    """An ISO 4217 code in upper case, or Invalid."""
    value = code.strip().upper()
    if not _CURRENCY.fullmatch(value):
        raise invalid(loc, f"'{code}' is not an ISO 4217 currency code", "invalid-currency")
    return value


def get(ctx: Context, pipeline_id: uuid.UUID) -> Pipeline:
    """One pipeline of the workspace; NotFound otherwise."""
    ctx.require("pipelines:read")
    pipeline = get_scoped(ctx.session, Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("No pipeline with this id")
    return pipeline


def stages_of(
    ctx: Context, pipeline_id: uuid.UUID, *, include_archived: bool = False
) -> list[Stage]:
    """The stages of a pipeline in board order (archived ones left out unless asked)."""
    query = select(Stage).where(Stage.pipeline_id == pipeline_id)
    if not include_archived:
        query = query.where(Stage.archived_at.is_(None))
    return list(ctx.session.scalars(query.order_by(Stage.position, Stage.id)))


def list_stages(ctx: Context, pipeline_id: uuid.UUID) -> list[Stage]:
    """The stages of one pipeline of the workspace; NotFound otherwise."""
    return stages_of(ctx, get(ctx, pipeline_id).id)


def list_pipelines(ctx: Context) -> list[tuple[Pipeline, list[Stage]]]:
    """Every pipeline of the workspace with its stages (a workspace has a handful)."""
    ctx.require("pipelines:read")
    pipelines = list(ctx.session.scalars(select(Pipeline).order_by(Pipeline.position, Pipeline.id)))
    stages: dict[uuid.UUID, list[Stage]] = {p.id: [] for p in pipelines}
    if pipelines:
        query = select(Stage).where(
            Stage.pipeline_id.in_(list(stages)), Stage.archived_at.is_(None)
        )
        for stage in ctx.session.scalars(query.order_by(Stage.position, Stage.id)):
            stages[stage.pipeline_id].append(stage)
    return [(p, stages[p.id]) for p in pipelines]


def create(ctx: Context, data: PipelineIn) -> Pipeline:
    """A pipeline with its stages (a standard set when none are given)."""
    ctx.require("pipelines:write")
    currency = check_currency(data.currency) if data.currency else None
    specs = data.stages
    if specs is None:
        specs = [
            StageIn(name=n, probability=p, is_won=w, is_lost=lost)
            for n, p, w, lost in DEFAULT_STAGES
        ]
    for index, spec in enumerate(specs):
        if spec.is_won and spec.is_lost:
            raise invalid(("stages", index), "a stage cannot be both won and lost")
    count = ctx.session.scalar(select(func.count()).select_from(Pipeline)) or 0
    pipeline = Pipeline(
        workspace_id=ctx.workspace_id,
        name=data.name,
        currency=currency,
        is_default=data.is_default or count == 0,
        position=count,
    )
    ctx.session.add(pipeline)
    ctx.session.flush()
    if pipeline.is_default:
        _clear_other_defaults(ctx, pipeline)
    for position, spec in enumerate(specs):
        ctx.session.add(_stage(ctx, pipeline, spec, position))
    ctx.session.flush()
    changes: Changes = {"name": (None, pipeline.name), "currency": (None, currency)}
    changes["stages"] = (None, [s.name for s in specs])
    record(ctx, PIPELINE_CREATED, pipeline.id, changes)
    return pipeline


def default_pipeline(ctx: Context) -> Pipeline | None:
    """The workspace's default pipeline, if it has one (never creates it)."""
    ctx.require("pipelines:read")
    return ctx.session.scalars(
        select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.position).limit(1)
    ).first()


def ensure_default(ctx: Context) -> Pipeline:
    """The workspace's default pipeline, created with the standard stages if it has none.

    Configuring pipelines is for admins (pipelines:write), whichever door asks: the API, the
    deals page's button, or a first deal made before any pipeline exists. Members wait for
    an admin rather than fixing the workspace's stages themselves."""
    ctx.require("pipelines:write")
    pipeline = default_pipeline(ctx)
    if pipeline is not None:
        return pipeline
    return create(ctx, PipelineIn(name="Sales", is_default=True))


def update(
    ctx: Context, pipeline_id: uuid.UUID, patch: PipelinePatch, *, expected_version: int | None
) -> Pipeline:
    """Rename a pipeline, change its currency or make it the default."""
    ctx.require("pipelines:write")
    pipeline = get(ctx, pipeline_id)
    check_version(pipeline.version, expected_version)
    values: dict[str, Any] = patch.model_dump(exclude_unset=True)
    if values.get("currency"):
        values["currency"] = check_currency(values["currency"])
        mixed = select(Deal.id).where(
            Deal.pipeline_id == pipeline.id, Deal.currency != values["currency"]
        )
        if ctx.session.scalar(select(exists(mixed))):
            raise invalid(("currency",), "deals in this pipeline use another currency")
    if values.get("is_default") is False:
        values.pop("is_default")  # a workspace always has a default; choose another instead
    changes = diff_fields(pipeline, values)
    if changes:
        ctx.session.flush()
        if pipeline.is_default:
            _clear_other_defaults(ctx, pipeline)
        record(ctx, PIPELINE_UPDATED, pipeline.id, changes)
    return pipeline


def delete(ctx: Context, pipeline_id: uuid.UUID, *, expected_version: int | None) -> Pipeline:
    """Delete a pipeline that holds no deals."""
    ctx.require("pipelines:write")
    pipeline = get(ctx, pipeline_id)
    check_version(pipeline.version, expected_version)
    if ctx.session.scalar(select(exists(select(Deal.id).where(Deal.pipeline_id == pipeline.id)))):
        raise Conflict("This pipeline holds deals; move or delete them first")
    pipeline.deleted_at = utcnow()
    pipeline.is_default = False
    ctx.session.flush()
    record(ctx, PIPELINE_DELETED, pipeline.id, {"deleted_at": (None, pipeline.deleted_at)})
    return pipeline


def add_stage(ctx: Context, pipeline_id: uuid.UUID, data: StageIn) -> Stage:
    """Insert a stage at ``position`` (default: the end), shifting the ones after it."""
    ctx.require("pipelines:write")
    pipeline = get(ctx, pipeline_id)
    if data.is_won and data.is_lost:
        raise invalid(("is_won",), "a stage cannot be both won and lost")
    stages = stages_of(ctx, pipeline.id)
    position = len(stages) if data.position is None else min(data.position, len(stages))
    stage = _stage(ctx, pipeline, data, position)
    stages.insert(position, stage)
    ctx.session.add(stage)
    renumber(stages)
    ctx.session.flush()
    record(ctx, STAGE_CREATED, stage.id, {"name": (None, stage.name)})
    return stage


def get_stage(ctx: Context, pipeline_id: uuid.UUID, stage_id: uuid.UUID) -> Stage:
    """One stage of one pipeline; NotFound otherwise."""
    get(ctx, pipeline_id)
    stage = get_scoped(ctx.session, Stage, stage_id)
    if stage is None or stage.pipeline_id != pipeline_id:
        raise NotFound("No stage with this id in this pipeline")
    return stage


def update_stage(
    ctx: Context,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    patch: StagePatch,
    *,
    expected_version: int | None,
) -> Stage:
    """Rename, re-weight or move a stage."""
    ctx.require("pipelines:write")
    stage = get_stage(ctx, pipeline_id, stage_id)
    check_version(stage.version, expected_version)
    values = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
    position = values.pop("position", None)
    if values.get("is_won", stage.is_won) and values.get("is_lost", stage.is_lost):
        raise invalid(("is_won",), "a stage cannot be both won and lost")
    changes = diff_fields(stage, values)
    if position is not None and position != stage.position:
        stages = [s for s in stages_of(ctx, pipeline_id) if s.id != stage.id]
        stages.insert(min(position, len(stages)), stage)
        changes["position"] = (stage.position, position)
        renumber(stages)
    if changes:
        ctx.session.flush()
        record(ctx, STAGE_UPDATED, stage.id, changes)
    return stage


def delete_stage(
    ctx: Context, pipeline_id: uuid.UUID, stage_id: uuid.UUID, *, expected_version: int | None
) -> None:
    """Remove a stage that no deal is in (history of closed stays goes with it)."""
    ctx.require("pipelines:write")
    stage = get_stage(ctx, pipeline_id, stage_id)
    check_version(stage.version, expected_version)
    # Deals in the bin still point at the stage (and the foreign key would refuse).
    in_use = select(exists(select(Deal.id).where(Deal.stage_id == stage.id)))
    if ctx.session.scalar(in_use.execution_options(include_deleted=True)):
        raise Conflict("Deals are in this stage; move them first")
    ctx.session.delete(stage)
    ctx.session.flush()
    renumber(stages_of(ctx, pipeline_id))
    record(ctx, STAGE_DELETED, stage.id, {"name": (stage.name, None)})


def _stage(ctx: Context, pipeline: Pipeline, spec: StageIn, position: int) -> Stage:
    return Stage(
        workspace_id=ctx.workspace_id,
        pipeline_id=pipeline.id,
        name=spec.name,
        position=position,
        probability=spec.probability,
        is_won=spec.is_won,
        is_lost=spec.is_lost,
    )


def renumber(stages: list[Stage]) -> None:
    for position, stage in enumerate(stages):
        if stage.position != position:
            stage.position = position


def _clear_other_defaults(ctx: Context, pipeline: Pipeline) -> None:
    others = select(Pipeline).where(Pipeline.is_default.is_(True), Pipeline.id != pipeline.id)
    for other in ctx.session.scalars(others):
        other.is_default = False
