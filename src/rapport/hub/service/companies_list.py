"""Listing companies (keyset pages, the filter language, search) and the people of one company."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import load_only

from rapport.core.context import Context
from rapport.core.filtering import Condition, FieldSet, FilterField, combine, compile_filter
from rapport.core.pagination import Page, keyset_page, parse_sort
from rapport.core.search import search_page
from rapport.hub.models import Company, Person, company_tags
from rapport.hub.service import companies, fields
from rapport.hub.service.common import ListParams
from rapport.hub.service.people_list import list_people
from rapport.hub.service.tags import has_tag

# Every sort is served by an index (workspace_id, <column>, id); see hub/models.py.
SORTS = {"name": Company.name, "created_at": Company.created_at}
DEFAULT_SORT = "name"

LIST_COLUMNS = (
    Company.workspace_id,
    Company.name,
    Company.domain,
    Company.industry,
    Company.size,
    Company.website,
    Company.phone,
    Company.owner_id,
    Company.custom,
    Company.version,
    Company.created_at,
    Company.updated_at,
    Company.deleted_at,
)

FIELDS = FieldSet(
    [
        FilterField("name", "string", column=Company.name),
        FilterField("domain", "string", column=Company.domain),
        FilterField("industry", "string", column=Company.industry),
        FilterField("size", "integer", column=Company.size),
        FilterField("owner_id", "uuid", column=Company.owner_id),
        FilterField("created_at", "datetime", column=Company.created_at),
        FilterField("tag", "tag", build=partial(has_tag, company_tags, "company_id", Company.id)),
    ],
    custom_column=Company.custom,
)


def list_companies(ctx: Context, params: ListParams) -> Page[Company]:
    """A page of companies: sorted, filtered, or (with ``q``) the best search matches."""
    ctx.require("companies:read")
    stmt = select(Company).options(load_only(*LIST_COLUMNS))
    if params.deleted:
        stmt = stmt.where(Company.deleted_at.is_not(None)).execution_options(include_deleted=True)
    if params.filter is not None:
        stmt = stmt.where(
            compile_filter(
                params.filter,
                FIELDS,
                custom_types=fields.filter_types(ctx, "company"),
                dialect_name=ctx.session.get_bind().dialect.name,
            )
        )
    if params.q:
        return search_page(
            ctx.session,
            stmt,
            Company.id,
            ctx.workspace_id,
            params.q,
            record_type="company",
            limit=params.limit,
            cursor=params.cursor,
        )
    sort = parse_sort(params.sort, SORTS, DEFAULT_SORT)
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=Company.id, limit=params.limit, cursor=params.cursor
    )


def people_of(ctx: Context, company_id: uuid.UUID, params: ListParams) -> Page[Person]:
    """A page of the people linked to a company, with the people list's sorts and filters."""
    companies.get(ctx, company_id)  # NotFound outside the workspace or in the bin
    linked = Condition("company_id", "eq", str(company_id))
    return list_people(ctx, replace(params, filter=combine(linked, params.filter), deleted=False))
