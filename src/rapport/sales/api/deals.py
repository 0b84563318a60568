"""Deals: CRUD, the bin, stage moves, won/lost/reopen and the stage history."""

from __future__ import annotations

import uuid

from fastapi import Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.listing import list_query
from rapport.core.schemas import PageOut
from rapport.hub.schemas import ActivityOut, Window, page_out
from rapport.sales.models import Deal, DealStageHistory
from rapport.sales.schemas import (
    CloseIn,
    DealIn,
    DealOut,
    DealPatch,
    HistoryOut,
    MoveIn,
    ReopenIn,
)
from rapport.sales.service import deals
from rapport.sales.service.deal_list import FIELDS, SORTS, list_deals

router = domain_router(prefix="/deals", tags=["deals"])
DealListQuery = list_query(FIELDS, SORTS)
WRITE_PROBLEMS = problems(401, 403, 404, 409, 412, 422)


@router.get(
    "",
    response_model=PageOut[DealOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("deals:read")],
)
def list_(params: DealListQuery, ctx: Ctx) -> PageOut[DealOut]:  # type: ignore[valid-type]
    """List deals: cursor pages, ?sort=, filters (?owner_id=, ?stage_id=, ?status=…), ?q=."""
    page = list_deals(ctx, params)
    return PageOut[DealOut](
        items=[DealOut.model_validate(d) for d in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "",
    response_model=DealOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[
        requires(
            "deals:write",
            note="the workspace's first pipeline, made on the way, needs pipelines:write",
        )
    ],
)
def create(body: DealIn, ctx: Ctx, response: Response) -> Deal:
    """Create a deal (in the default pipeline's first stage unless you say otherwise)."""
    deal = deals.create(ctx, body)
    response.headers["ETag"] = etag(deal.version)
    response.headers["Location"] = f"/api/v1/deals/{deal.id}"
    return deal


@router.get(
    "/{deal_id}",
    response_model=DealOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("deals:read")],
)
def get(deal_id: uuid.UUID, ctx: Ctx, response: Response) -> Deal:
    """One deal; the ETag is its version, for If-Match on writes."""
    deal = deals.get(ctx, deal_id)
    response.headers["ETag"] = etag(deal.version)
    return deal


@router.patch(
    "/{deal_id}",
    response_model=DealOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("deals:write")],
)
def update(
    deal_id: uuid.UUID, body: DealPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Deal:
    """Change some fields; 412 if the deal changed since the version in If-Match."""
    deal = deals.update(ctx, deal_id, body, expected_version=version)
    response.headers["ETag"] = etag(deal.version)
    return deal


@router.delete(
    "/{deal_id}",
    response_model=DealOut,
    responses=problems(401, 403, 404, 412),
    dependencies=[requires("deals:delete")],
)
def delete(deal_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Deal:
    """Move a deal to the bin (restore with POST …/restore)."""
    return deals.delete(ctx, deal_id, expected_version=version)


@router.post(
    "/{deal_id}/restore",
    response_model=DealOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("deals:delete")],
)
def restore(deal_id: uuid.UUID, ctx: Ctx) -> Deal:
    """Bring a deal back from the bin."""
    return deals.restore(ctx, deal_id)


@router.post(
    "/{deal_id}/move",
    response_model=DealOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("deals:write")],
)
def move(deal_id: uuid.UUID, body: MoveIn, ctx: Ctx, version: IfMatch) -> Deal:
    """Move an open deal to another stage of its pipeline; 409 if it is closed."""
    return deals.move_to_stage(ctx, deal_id, body.stage_id, expected_version=version)


@router.post(
    "/{deal_id}/won",
    response_model=DealOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("deals:write")],
)
def won(deal_id: uuid.UUID, body: CloseIn, ctx: Ctx, version: IfMatch) -> Deal:
    """Close an open deal as won."""
    return deals.mark_won(
        ctx, deal_id, reason=body.reason, expected_version=version, closed_at=body.closed_at
    )


@router.post(
    "/{deal_id}/lost",
    response_model=DealOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("deals:write")],
)
def lost(deal_id: uuid.UUID, body: CloseIn, ctx: Ctx, version: IfMatch) -> Deal:
    """Close an open deal as lost, with a reason."""
    return deals.mark_lost(
        ctx, deal_id, reason=body.reason, expected_version=version, closed_at=body.closed_at
    )


@router.post(
    "/{deal_id}/reopen",
    response_model=DealOut,
    responses=WRITE_PROBLEMS,
    dependencies=[requires("deals:write")],
)
def reopen(deal_id: uuid.UUID, body: ReopenIn, ctx: Ctx, version: IfMatch) -> Deal:
    """Reopen a won or lost deal (into the open stage it left, unless you name one)."""
    return deals.reopen(ctx, deal_id, stage_id=body.stage_id, expected_version=version)


@router.get(
    "/{deal_id}/timeline",
    response_model=PageOut[ActivityOut],
    responses=problems(400, 401, 403, 404, 422),
    dependencies=[requires("deals:read", note="and activities:read")],
)
def timeline(deal_id: uuid.UUID, window: Window, ctx: Ctx) -> PageOut[ActivityOut]:
    """The activities about the deal, newest first (cursor pages, as a person's timeline)."""
    return page_out(deals.timeline(ctx, deal_id, **window.kwargs()))


@router.get(
    "/{deal_id}/history",
    response_model=list[HistoryOut],
    responses=problems(401, 403, 404),
    dependencies=[requires("deals:read")],
)
def history(deal_id: uuid.UUID, ctx: Ctx) -> list[DealStageHistory]:
    """When the deal entered and left each stage, oldest first."""
    return deals.history(ctx, deal_id)
