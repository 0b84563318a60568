"""The timeline of a person or a company, and a person's 360° summary."""

from __future__ import annotations

import uuid

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx
from rapport.core.schemas import PageOut
from rapport.hub.schemas import ActivityOut, Person360, Window, page_out
from rapport.hub.service import timeline_read

router = domain_router(tags=["timeline"])


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
