"""Listing people: keyset pages in an indexed order, the filter language, and search."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import load_only

from rapport.core.context import Context
from rapport.core.filtering import FieldSet, FilterField, compile_filter
from rapport.core.pagination import Page, keyset_page, parse_sort
from rapport.core.search import search_page
from rapport.hub.models import ConsentStatus, LifecycleStage, Person, person_tags
from rapport.hub.service import fields
from rapport.hub.service.common import ListParams
from rapport.hub.service.tags import has_tag

# Every sort is served by an index (workspace_id, <column>, id); see hub/models.py.
SORTS = {
    "full_name": Person.full_name,
    "last_name": Person.last_name,
    "created_at": Person.created_at,
    "updated_at": Person.updated_at,
}
DEFAULT_SORT = "full_name"

LIST_COLUMNS = (
    Person.id,
    Person.workspace_id,
    Person.full_name,
    Person.first_name,
    Person.last_name,
    Person.email,
    Person.phone,
    Person.job_title,
    Person.company_id,
    Person.owner_id,
    Person.lifecycle_stage,
    Person.source,
    Person.custom,
    Person.version,
    Person.created_at,
    Person.updated_at,
    Person.deleted_at,
)


FIELDS = FieldSet(
    [
        FilterField("first_name", "string", column=Person.first_name),
        FilterField("last_name", "string", column=Person.last_name),
        FilterField("full_name", "string", column=Person.full_name),
        FilterField("email", "string", column=Person.email),
        FilterField("phone", "string", column=Person.phone),
        FilterField("job_title", "string", column=Person.job_title),
        FilterField("source", "string", column=Person.source),
        FilterField("company_id", "uuid", column=Person.company_id),
        FilterField("owner_id", "uuid", column=Person.owner_id),
        FilterField(
            "lifecycle_stage", "enum", column=Person.lifecycle_stage, choices=tuple(LifecycleStage)
        ),
        FilterField(
            "consent_status", "enum", column=Person.consent_status, choices=tuple(ConsentStatus)
        ),
        FilterField("created_at", "datetime", column=Person.created_at),
        FilterField("updated_at", "datetime", column=Person.updated_at),
        FilterField("tag", "tag", build=partial(has_tag, person_tags, "person_id", Person.id)),
    ],
    custom_column=Person.custom,
)


def list_people(ctx: Context, params: ListParams) -> Page[Person]:
    """A page of people: sorted, filtered, or (with ``q``) the best search matches."""
    ctx.require("people:read")
    stmt = select(Person).options(load_only(*LIST_COLUMNS[1:]))
    if params.deleted:
        stmt = stmt.where(Person.deleted_at.is_not(None)).execution_options(include_deleted=True)
    if params.filter is not None:
        dialect = ctx.session.get_bind().dialect.name
        stmt = stmt.where(
            compile_filter(
                params.filter,
                FIELDS,
                custom_types=fields.filter_types(ctx, "person"),
                dialect_name=dialect,
            )
        )
    if params.q:
        return search_page(
            ctx.session,
            stmt,
            Person.id,
            ctx.workspace_id,
            params.q,
            record_type="person",
            limit=params.limit,
            cursor=params.cursor,
        )
    sort = parse_sort(params.sort, SORTS, DEFAULT_SORT)
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=Person.id, limit=params.limit, cursor=params.cursor
    )
