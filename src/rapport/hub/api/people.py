"""People: CRUD, bin and restore, bulk upsert by email, timeline and the 360° view."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems, record_response
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.listing import list_query
from rapport.core.schemas import PageOut
from rapport.hub.models import Person
from rapport.hub.schemas import (
    BulkItemResult,
    BulkOut,
    BulkPeopleIn,
    PersonIn,
    PersonOut,
    PersonPatch,
    PersonRow,
)
from rapport.hub.service import bulk, duplicates, people
from rapport.hub.service.people_list import FIELDS, SORTS, list_people

router = domain_router(prefix="/people", tags=["people"])
PeopleQuery = list_query(FIELDS, SORTS)


@router.get(
    "",
    response_model=PageOut[PersonRow],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("people:read")],
)
def list_(params: PeopleQuery, ctx: Ctx) -> PageOut[PersonRow]:  # type: ignore[valid-type]
    """List people: cursor pages, ?sort=, filters (?field=value, ?filter=JSON), ?q= search."""
    page = list_people(ctx, params)
    return PageOut[PersonRow](
        items=[PersonRow.model_validate(p) for p in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "",
    response_model=PersonOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("people:write")],
)
def create(
    body: PersonIn,
    ctx: Ctx,
    response: Response,
    check_duplicates: Annotated[bool, Query(description="409 with candidates if likely")] = False,
    force: Annotated[bool, Query(description="Create even if a duplicate is likely")] = False,
) -> Person:
    """Create a person. Send Idempotency-Key to make retries safe. With
    ``check_duplicates=true``, a likely duplicate answers 409 listing the candidates (id,
    name, probability) unless ``force=true``."""
    if check_duplicates and not force:
        duplicates.check_create(ctx, body.model_dump())
    person = people.create(ctx, body)
    response.headers["ETag"] = etag(person.version)
    response.headers["Location"] = f"/api/v1/people/{person.id}"
    return person


@router.post(
    "/bulk",
    response_model=BulkOut,
    responses=problems(401, 403, 422),
    dependencies=[requires("people:write")],
)
def bulk_upsert(body: BulkPeopleIn, ctx: Ctx) -> BulkOut:
    """Create or update up to 1,000 people matched by email; bad items are reported, not fatal."""
    outcome = bulk.bulk_upsert(ctx, list(body.items))
    return BulkOut(
        created=outcome.count("created"),
        updated=outcome.count("updated"),
        unchanged=outcome.count("unchanged"),
        failed=outcome.count("error"),
        results=[BulkItemResult.model_validate(r, from_attributes=True) for r in outcome.results],
    )


@router.get(
    "/{person_id}",
    response_model=PersonOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("people:read")],
)
def get(person_id: uuid.UUID, ctx: Ctx) -> Response:
    """One person; the ETag is their version, for If-Match on writes."""
    return record_response(people.read(ctx, person_id))


@router.patch(
    "/{person_id}",
    response_model=PersonOut,
    responses=problems(401, 403, 404, 409, 412, 422),
    dependencies=[requires("people:write")],
)
def update(
    person_id: uuid.UUID, body: PersonPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Person:
    """Change some fields; 412 if the person changed since the version in If-Match."""
    person = people.update(ctx, person_id, body, expected_version=version)
    response.headers["ETag"] = etag(person.version)
    return person


@router.delete(
    "/{person_id}",
    response_model=PersonOut,
    responses=problems(401, 403, 404, 412),
    dependencies=[requires("people:delete")],
)
def delete(person_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Person:
    """Move a person to the bin (restore with POST …/restore)."""
    return people.delete(ctx, person_id, expected_version=version)


@router.post(
    "/{person_id}/restore",
    response_model=PersonOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("people:delete")],
)
def restore(person_id: uuid.UUID, ctx: Ctx) -> Person:
    """Bring a person back from the bin."""
    return people.restore(ctx, person_id)
