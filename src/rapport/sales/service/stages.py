"""Stages as the settings page changes them: reorder a pipeline's stages at once, archive a
stage (moving its deals to another one first, in the same transaction) and restore it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import Conflict, invalid
from rapport.core.events import record
from rapport.sales.events import STAGE_UPDATED
from rapport.sales.models import Deal, Stage
from rapport.sales.service import deals, pipelines


def deal_counts(ctx: Context, pipeline_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """How many deals (the bin's included) each stage of the pipeline holds."""
    ctx.require("pipelines:read")
    query = (
        select(Deal.stage_id, func.count())
        .where(Deal.pipeline_id == pipeline_id)
        .group_by(Deal.stage_id)
        .execution_options(include_deleted=True)
    )
    return {stage_id: count for stage_id, count in ctx.session.execute(query)}  # noqa: C416


def reorder(ctx: Context, pipeline_id: uuid.UUID, order: Sequence[uuid.UUID]) -> list[Stage]:
    """Put the pipeline's stages in ``order`` (every live stage once); audited per stage."""
    ctx.require("pipelines:write")
    stages = pipelines.list_stages(ctx, pipeline_id)
    by_id = {s.id: s for s in stages}
    if len(order) != len(stages) or set(order) != set(by_id):
        raise invalid(("order",), "give every stage of the pipeline once", "bad-order")
    for position, stage_id in enumerate(order):
        stage = by_id[stage_id]
        if stage.position != position:
            old, stage.position = stage.position, position
            ctx.session.flush()
            record(ctx, STAGE_UPDATED, stage.id, {"position": (old, position)})
    return [by_id[i] for i in order]


def move(ctx: Context, pipeline_id: uuid.UUID, stage_id: uuid.UUID, step: int) -> list[Stage]:
    """Move a stage one place up (-1) or down (+1)."""
    stages = pipelines.list_stages(ctx, pipeline_id)
    ids = [s.id for s in stages]
    if stage_id not in ids:
        pipelines.get_stage(ctx, pipeline_id, stage_id)  # NotFound, or archived
        raise invalid(("stage_id",), "an archived stage has no place on the board")
    index = ids.index(stage_id)
    other = index + step
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    return reorder(ctx, pipeline_id, ids)


def archive(
    ctx: Context, pipeline_id: uuid.UUID, stage_id: uuid.UUID, move_to: uuid.UUID | None
) -> tuple[Stage, int]:
    """Take a stage off the board. A stage holding deals is archived only with the stage they
    move to (``move_to``): Invalid on ``move_to`` otherwise. Returns the stage and how many
    deals moved."""
    ctx.require("pipelines:write")
    stage = pipelines.get_stage(ctx, pipeline_id, stage_id)
    if stage.archived_at is not None:
        return stage, 0
    live = pipelines.stages_of(ctx, pipeline_id)
    if len(live) <= 1:
        raise Conflict("A pipeline keeps at least one stage")
    held = deal_counts(ctx, pipeline_id).get(stage.id, 0)
    moved = 0
    if held:
        if move_to is None:
            raise invalid(
                ("move_to",),
                f"{held:,} deal{'s are' if held != 1 else ' is'} in “{stage.name}”: "
                "choose the stage they move to",
                "stage-holds-deals",
            )
        target = next((s for s in live if s.id == move_to and s.id != stage.id), None)
        if target is None:
            raise invalid(("move_to",), "choose another stage of this pipeline")
        moved = deals.empty_stage(ctx, stage, target)
    stage.archived_at = utcnow()
    ctx.session.flush()
    record(ctx, STAGE_UPDATED, stage.id, {"archived_at": (None, stage.archived_at),
                                          "deals_moved": (None, moved)})  # fmt: skip
    pipelines.renumber(pipelines.stages_of(ctx, pipeline_id))
    return stage, moved


def restore(ctx: Context, pipeline_id: uuid.UUID, stage_id: uuid.UUID) -> Stage:
    """Put an archived stage back, at the end of the board."""
    ctx.require("pipelines:write")
    stage = pipelines.get_stage(ctx, pipeline_id, stage_id)
    if stage.archived_at is None:
        return stage
    old = stage.archived_at
    stage.archived_at = None
    stage.position = len(pipelines.stages_of(ctx, pipeline_id))
    ctx.session.flush()
    record(ctx, STAGE_UPDATED, stage.id, {"archived_at": (old, None)})
    return stage
