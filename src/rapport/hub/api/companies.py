"""Companies: CRUD, bin and restore, and the people of a company."""

from __future__ import annotations

import uuid

from fastapi import Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.listing import list_query
from rapport.core.schemas import PageOut
from rapport.hub.models import Company
from rapport.hub.schemas import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    CompanyRow,
    PersonRow,
)
from rapport.hub.service import companies, companies_list, people_list

router = domain_router(prefix="/companies", tags=["companies"])
CompaniesQuery = list_query(companies_list.FIELDS, companies_list.SORTS)
PeopleQuery = list_query(people_list.FIELDS, people_list.SORTS)


@router.get(
    "",
    response_model=PageOut[CompanyRow],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("companies:read")],
)
def list_(params: CompaniesQuery, ctx: Ctx) -> PageOut[CompanyRow]:  # type: ignore[valid-type]
    """List companies: cursor pages, ?sort=name|created_at, filters, ?q= search."""
    page = companies_list.list_companies(ctx, params)
    return PageOut[CompanyRow](
        items=[CompanyRow.model_validate(c) for c in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "",
    response_model=CompanyOut,
    status_code=201,
    responses=problems(401, 403, 409, 422),
    dependencies=[requires("companies:write")],
)
def create(body: CompanyIn, ctx: Ctx, response: Response) -> Company:
    """Create a company; 409 if another company has its domain."""
    company = companies.create(ctx, body)
    response.headers["ETag"] = etag(company.version)
    response.headers["Location"] = f"/api/v1/companies/{company.id}"
    return company


@router.get(
    "/{company_id}",
    response_model=CompanyOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("companies:read")],
)
def get(company_id: uuid.UUID, ctx: Ctx, response: Response) -> Company:
    """One company; the ETag is its version, for If-Match on writes."""
    company = companies.get(ctx, company_id)
    response.headers["ETag"] = etag(company.version)
    return company


@router.patch(
    "/{company_id}",
    response_model=CompanyOut,
    responses=problems(400, 401, 403, 404, 409, 412, 422),
    dependencies=[requires("companies:write")],
)
def update(
    company_id: uuid.UUID, body: CompanyPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Company:
    """Change some fields; 412 if the company changed since the version in If-Match."""
    company = companies.update(ctx, company_id, body, expected_version=version)
    response.headers["ETag"] = etag(company.version)
    return company


@router.delete(
    "/{company_id}",
    response_model=CompanyOut,
    responses=problems(400, 401, 403, 404, 412),
    dependencies=[requires("companies:delete")],
)
def delete(company_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Company:
    """Move a company to the bin (restore with POST …/restore)."""
    return companies.delete(ctx, company_id, expected_version=version)


@router.post(
    "/{company_id}/restore",
    response_model=CompanyOut,
    responses=problems(401, 403, 404, 409),
    dependencies=[requires("companies:delete")],
)
def restore(company_id: uuid.UUID, ctx: Ctx) -> Company:
    """Bring a company back from the bin; 409 if another company took its domain meanwhile."""
    return companies.restore(ctx, company_id)


@router.get(
    "/{company_id}/people",
    response_model=PageOut[PersonRow],
    responses=problems(400, 401, 403, 404, 422),
    dependencies=[requires("companies:read", note="and people:read")],
)
def people(company_id: uuid.UUID, params: PeopleQuery, ctx: Ctx) -> PageOut[PersonRow]:  # type: ignore[valid-type]
    """The people of a company, with the people list's sorts, filters and search."""
    page = companies_list.people_of(ctx, company_id, params)
    return PageOut[PersonRow](
        items=[PersonRow.model_validate(p) for p in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )
