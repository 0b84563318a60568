"""``GET /audit``: the audit trail of the caller's workspace."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from rapport.core import audit
from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.schemas import PageOut

router = domain_router(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    """One change: who did which action to which record, and each field's old and new value."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    action: str
    record_type: str
    record_id: uuid.UUID | None
    actor_type: str
    actor_id: uuid.UUID | None
    changes: dict[str, Any] = Field(description='{"field": {"old": …, "new": …}}')
    request_id: str | None
    occurred_at: datetime


@router.get(
    "",
    response_model=PageOut[AuditEntryOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("audit:read")],
)
def list_(
    ctx: Ctx,
    record: Annotated[uuid.UUID | None, Query(description="Only this record's entries")] = None,
    record_type: Annotated[str | None, Query(max_length=50, description="e.g. person")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(description="From next_cursor of the previous page")
    ] = None,
) -> PageOut[AuditEntryOut]:
    """Who changed what, newest first; ?record= for one record's history."""
    page = audit.list_entries(
        ctx, record_id=record, record_type=record_type, limit=limit, cursor=cursor
    )
    return PageOut[AuditEntryOut](
        items=[AuditEntryOut.model_validate(e) for e in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )
