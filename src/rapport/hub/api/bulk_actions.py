"""Bulk actions on a selection of people or companies (tag, untag, assign, delete, restore)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.hub.service import bulk_actions

router = domain_router(tags=["bulk actions"])


class BulkActionIn(BaseModel):
    """``ids`` (at most 1,000), the ``action``, and what it needs: ``tags`` for tag/untag,
    ``owner_id`` for assign (null takes the owner away)."""

    model_config = ConfigDict(extra="forbid")
    ids: list[uuid.UUID] = Field(max_length=10_000)
    action: Literal["tag", "untag", "assign", "delete", "restore"]
    tags: list[str] = Field(default_factory=list, max_length=50)
    owner_id: uuid.UUID | None = None


class BulkActionOut(BaseModel):
    action: str
    changed: list[uuid.UUID]
    unchanged: list[uuid.UUID]
    count: int = Field(description="How many records changed")


def _run(ctx: Ctx, record_type: Literal["person", "company"], body: BulkActionIn) -> BulkActionOut:
    result = bulk_actions.run(
        ctx, record_type, body.action, body.ids, tag_names=body.tags, owner_id=body.owner_id
    )
    return BulkActionOut(
        action=result.action,
        changed=result.changed,
        unchanged=result.unchanged,
        count=len(result.changed),
    )


@router.post(
    "/people/bulk-actions",
    response_model=BulkActionOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("people:write", note="delete and restore need people:delete")],
)
def people_bulk(body: BulkActionIn, ctx: Ctx) -> BulkActionOut:
    """Tag, untag, assign, delete or restore up to 1,000 people at once; all or nothing."""
    return _run(ctx, "person", body)


@router.post(
    "/companies/bulk-actions",
    response_model=BulkActionOut,
    responses=problems(401, 403, 404, 422),
    dependencies=[requires("companies:write", note="delete and restore need companies:delete")],
)
def companies_bulk(body: BulkActionIn, ctx: Ctx) -> BulkActionOut:
    """Tag, untag, assign, delete or restore up to 1,000 companies at once; all or nothing."""
    return _run(ctx, "company", body)
