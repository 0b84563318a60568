"""Tags: list, create, rename or recolour, delete, and tag many records at once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.schemas import PageOut
from rapport.hub.models import Tag
from rapport.hub.schemas import TaggingIn, TaggingOut, TagIn, TagOut, TagPatch
from rapport.hub.service import tags

router = domain_router(prefix="/tags", tags=["tags"])


@router.get(
    "",
    response_model=PageOut[TagOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("tags:read")],
)
def list_(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query()] = None,
    prefix: Annotated[str | None, Query(max_length=100, description="Names starting so")] = None,
) -> PageOut[TagOut]:
    """The workspace's tags by name, in cursor pages."""
    page = tags.list_tags(ctx, limit=limit, cursor=cursor, prefix=prefix)
    return PageOut[TagOut](
        items=[TagOut.model_validate(t) for t in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "",
    response_model=TagOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("tags:write")],
)
def create(body: TagIn, ctx: Ctx, response: Response) -> Tag:
    """Create a tag; 409 if one with this name (in any case) exists."""
    tag = tags.create(ctx, body)
    response.headers["ETag"] = etag(tag.version)
    response.headers["Location"] = f"/api/v1/tags/{tag.id}"
    return tag


@router.post(
    "/add",
    response_model=TaggingOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[
        requires("tags:write", note="and people:write or companies:write for the records tagged")
    ],
)
def add(body: TaggingIn, ctx: Ctx) -> TaggingOut:
    """Give up to 1,000 people or companies these tags (new names become tags)."""
    outcome = tags.add_tags(ctx, body.record_type, body.ids, body.names)
    return TaggingOut.model_validate(outcome, from_attributes=True)


@router.post(
    "/remove",
    response_model=TaggingOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[
        requires("tags:write", note="and people:write or companies:write for the records untagged")
    ],
)
def remove(body: TaggingIn, ctx: Ctx) -> TaggingOut:
    """Take these tags off up to 1,000 people or companies."""
    outcome = tags.remove_tags(ctx, body.record_type, body.ids, body.names)
    return TaggingOut.model_validate(outcome, from_attributes=True)


@router.get(
    "/{tag_id}",
    response_model=TagOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("tags:read")],
)
def get(tag_id: uuid.UUID, ctx: Ctx, response: Response) -> Tag:
    """One tag; the ETag is its version."""
    tag = tags.get(ctx, tag_id)
    response.headers["ETag"] = etag(tag.version)
    return tag


@router.patch(
    "/{tag_id}",
    response_model=TagOut,
    responses=problems(400, 401, 403, 404, 409, 412, 422),
    dependencies=[requires("tags:write")],
)
def update(
    tag_id: uuid.UUID, body: TagPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Tag:
    """Rename or recolour a tag; 409 if the new name is taken, 412 on a stale If-Match."""
    tag = tags.update(ctx, tag_id, body, expected_version=version)
    response.headers["ETag"] = etag(tag.version)
    return tag


@router.delete(
    "/{tag_id}",
    status_code=204,
    responses=problems(400, 401, 403, 404, 412),
    dependencies=[requires("tags:delete")],
)
def delete(tag_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Response:
    """Delete a tag and take it off every record (there is no bin for tags)."""
    tags.delete(ctx, tag_id, expected_version=version)
    return Response(status_code=204)
