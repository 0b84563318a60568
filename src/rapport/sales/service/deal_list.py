"""Listing deals: keyset pages in an indexed order, and the one filter language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.filtering import FieldSet, FilterField, compile_filter
from rapport.core.pagination import Page, keyset_page, parse_sort
from rapport.core.search import search_page
from rapport.sales.models import Deal, DealStatus

# Every sort is served by an index (workspace_id, <column>, id); see sales/models.py.
SORTS = {
    "created_at": Deal.created_at,
    "amount": Deal.amount,
    "expected_close_date": Deal.expected_close_date,
}
DEFAULT_SORT = "-created_at"

FIELDS = FieldSet(
    [
        FilterField("title", "string", column=Deal.title),
        FilterField("owner_id", "uuid", column=Deal.owner_id),
        FilterField("stage_id", "uuid", column=Deal.stage_id),
        FilterField("pipeline_id", "uuid", column=Deal.pipeline_id),
        FilterField("person_id", "uuid", column=Deal.person_id),
        FilterField("company_id", "uuid", column=Deal.company_id),
        FilterField("status", "enum", column=Deal.status, choices=tuple(DealStatus)),
        FilterField("currency", "string", column=Deal.currency),
        FilterField("amount", "number", column=Deal.amount),
        FilterField("expected_close_date", "date", column=Deal.expected_close_date),
        FilterField("created_at", "datetime", column=Deal.created_at),
        FilterField("closed_at", "datetime", column=Deal.closed_at),
    ]
)


@dataclass
class DealQuery:
    """A page request of the deal list."""

    limit: int = 50
    cursor: str | None = None
    sort: str | None = None
    filter: Any = None
    q: str | None = None
    deleted: bool = False


def list_deals(ctx: Context, params: DealQuery) -> Page[Deal]:
    """A page of deals: sorted, filtered, or (with ``q``) the best search matches."""
    ctx.require("deals:read")
    stmt = select(Deal)
    if params.deleted:
        stmt = stmt.where(Deal.deleted_at.is_not(None)).execution_options(include_deleted=True)
    if params.filter is not None:
        dialect = ctx.session.get_bind().dialect.name
        stmt = stmt.where(compile_filter(params.filter, FIELDS, dialect_name=dialect))
    if params.q:
        return search_page(
            ctx.session,
            stmt,
            Deal.id,
            ctx.workspace_id,
            params.q,
            record_type="deal",
            limit=params.limit,
            cursor=params.cursor,
        )
    sort = parse_sort(params.sort, SORTS, DEFAULT_SORT)
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=Deal.id, limit=params.limit, cursor=params.cursor
    )
