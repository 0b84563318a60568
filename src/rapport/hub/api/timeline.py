"""The timeline of a person or a company, and a person's 360° summary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.pagination import Page
from rapport.hub.models import Activity
from rapport.hub.schemas import ActivityOut, PageOut, Person360
from rapport.hub.service import timeline_read

router = domain_router(tags=["timeline"])


@dataclass
class _Window:
    kind: list[str] | None
    channel: list[str] | None
    before: datetime | None
    after: datetime | None
    limit: int
    cursor: str | None

    def kwargs(self) -> dict[str, Any]:
        return {
            "kinds": self.kind or (), "channels": self.channel or (), "before": self.before,
            "after": self.after, "limit": self.limit, "cursor": self.cursor,
        }  # fmt: skip


def _window(
    kind: Annotated[
        list[str] | None, Query(description="email, call, … (repeat or comma-separate)")
    ] = None,
    channel: Annotated[list[str] | None, Query(description="email, phone, in_store, …")] = None,
    before: Annotated[datetime | None, Query(description="Strictly before this instant")] = None,
    after: Annotated[datetime | None, Query(description="At or after this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(description="From next_cursor of the previous page")
    ] = None,
) -> _Window:
    return _Window(kind, channel, before, after, limit, cursor)


Window = Annotated[_Window, Depends(_window)]


def page_out(page: Page[Activity]) -> PageOut[ActivityOut]:
    """A page of activities in its API shape."""
    return PageOut[ActivityOut](
        items=[ActivityOut.model_validate(a) for a in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/people/{person_id}/timeline",
    response_model=PageOut[ActivityOut],
    responses=problems(400, 401, 403, 404, 422),
    dependencies=[requires("activities:read")],
)
def person_timeline(person_id: uuid.UUID, window: Window, ctx: Ctx) -> PageOut[ActivityOut]:
    """A person's interactions, newest first; filter by kind, channel and time."""
    return page_out(timeline_read.timeline(ctx, person_id, **window.kwargs()))


@router.get(
    "/people/{person_id}/summary",
    response_model=Person360,
    responses=problems(401, 403, 404),
    dependencies=[requires("activities:read")],
)
def person_summary(person_id: uuid.UUID, ctx: Ctx) -> Person360:
    """The 360° view: the person, their company, contacts per channel, spend, purchases."""
    summary = timeline_read.summary(ctx, person_id)
    return Person360.model_validate(summary, from_attributes=True)


@router.get(
    "/companies/{company_id}/timeline",
    response_model=PageOut[ActivityOut],
    responses=problems(400, 401, 403, 404, 422),
    dependencies=[requires("activities:read")],
)
def company_timeline(company_id: uuid.UUID, window: Window, ctx: Ctx) -> PageOut[ActivityOut]:
    """A company's interactions (its people's included), newest first."""
    return page_out(timeline_read.company_timeline(ctx, company_id, **window.kwargs()))
