"""Activities: the timeline's entries — log (idempotent by source id), read, correct, bin."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.schemas import PageOut
from rapport.hub.models import Activity
from rapport.hub.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPatch,
    BulkActivitiesIn,
    IngestItemResult,
    IngestOut,
    Window,
    page_out,
)
from rapport.hub.service import timeline, timeline_read

router = domain_router(prefix="/activities", tags=["activities"])
_LOG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ActivityOut,
        "description": "A replay: this source and external_id were logged before",
    },
    **problems(401, 403, 422),
}


@router.get(
    "",
    response_model=PageOut[ActivityOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("activities:read")],
)
def list_(
    window: Window,
    ctx: Ctx,
    deal_id: Annotated[uuid.UUID | None, Query(description="Only this deal's")] = None,
) -> PageOut[ActivityOut]:
    """Every activity of the workspace, newest first; filter by kind, channel, time and deal."""
    return page_out(timeline_read.list_activities(ctx, deal_id=deal_id, **window.kwargs()))


@router.post(
    "",
    response_model=ActivityOut,
    status_code=201,
    responses=_LOG_RESPONSES,
    dependencies=[requires("activities:write")],
)
def log(body: ActivityIn, ctx: Ctx, response: Response) -> Activity:
    """Log an interaction. With source + external_id it is idempotent: a replay answers 200
    with the activity stored the first time."""
    logged = timeline.ingest(ctx, body)
    if logged.is_replay:
        response.status_code = 200
    response.headers["ETag"] = etag(logged.activity.version)
    response.headers["Location"] = f"/api/v1/activities/{logged.activity.id}"
    return logged.activity


@router.post(
    "/bulk",
    response_model=IngestOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("activities:write")],
)
def ingest_many(body: BulkActivitiesIn, ctx: Ctx) -> IngestOut:
    """Log up to 1,000 activities; bad items and replays are reported, not fatal."""
    outcome = timeline.ingest_many(ctx, list(body.items))
    return IngestOut(
        created=outcome.count("created"),
        replayed=outcome.count("replayed"),
        failed=outcome.count("error"),
        results=[IngestItemResult.model_validate(r, from_attributes=True) for r in outcome.results],
    )


@router.get(
    "/{activity_id}",
    response_model=ActivityOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("activities:read")],
)
def get(activity_id: uuid.UUID, ctx: Ctx, response: Response) -> Activity:
    """One activity; the ETag is its version."""
    activity = timeline.get(ctx, activity_id)
    response.headers["ETag"] = etag(activity.version)
    return activity


@router.patch(
    "/{activity_id}",
    response_model=ActivityOut,
    responses=problems(400, 401, 403, 404, 412, 422),
    dependencies=[requires("activities:write")],
)
def update(
    activity_id: uuid.UUID, body: ActivityPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Activity:
    """Correct an activity; 412 if it changed since the version in If-Match."""
    activity = timeline.update(ctx, activity_id, body, expected_version=version)
    response.headers["ETag"] = etag(activity.version)
    return activity


@router.delete(
    "/{activity_id}",
    response_model=ActivityOut,
    responses=problems(400, 401, 403, 404, 412),
    dependencies=[requires("activities:delete")],
)
def delete(activity_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Activity:
    """Move an activity to the bin; it leaves the timeline and the 360° figures."""
    return timeline.delete(ctx, activity_id, expected_version=version)


@router.post(
    "/{activity_id}/restore",
    response_model=ActivityOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("activities:delete")],
)
def restore(activity_id: uuid.UUID, ctx: Ctx) -> Activity:
    """Bring an activity back from the bin."""
    return timeline.restore(ctx, activity_id)
