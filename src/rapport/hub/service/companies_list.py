"""Listing companies: the sorts, filters and columns of the companies list (the hub's
"company" record type, ``hub/records.py``), and the people of one company."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import partial

from rapport.core.context import Context
from rapport.core.filtering import Condition, FieldSet, FilterField, combine
from rapport.core.listing import ListParams, list_records
from rapport.core.pagination import Page
from rapport.core.records import record_type
from rapport.hub.models import Company, Person, company_tags
from rapport.hub.service import companies
from rapport.hub.service.people_list import list_people
from rapport.hub.service.tags import has_tag

# Every sort is served by an index (workspace_id, <column>, id); see hub/models.py.
SORTS = {
    "name": Company.name,
    "created_at": Company.created_at,
    "updated_at": Company.updated_at,
    "domain": Company.domain,
    "industry": Company.industry,
    "size": Company.size,
    "phone": Company.phone,
}
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
    return list_records(ctx, record_type("company"), params)


def people_of(ctx: Context, company_id: uuid.UUID, params: ListParams) -> Page[Person]:
    """A page of the people linked to a company, with the people list's sorts and filters."""
    companies.get(ctx, company_id)  # NotFound outside the workspace or in the bin
    linked = Condition("company_id", "eq", str(company_id))
    return list_people(ctx, replace(params, filter=combine(linked, params.filter), deleted=False))
