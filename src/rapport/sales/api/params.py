"""Parsing the deal list query (?limit&cursor&sort&q&filter and ?field=value)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from rapport.core.config import get_settings
from rapport.core.errors import invalid
from rapport.core.filtering import combine, parse_filter, parse_query_params
from rapport.sales.service.deal_list import FIELDS, DealQuery

RESERVED = {"limit", "cursor", "sort", "q", "filter", "fields", "deleted"}


def deal_query(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
    cursor: Annotated[
        str | None, Query(description="From next_cursor of the previous page")
    ] = None,
    sort: Annotated[
        str | None, Query(description="created_at, amount or expected_close_date; - for desc")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Typo-tolerant search")] = None,
    filter: Annotated[str | None, Query(description="JSON filter expression")] = None,
    deleted: Annotated[bool, Query(description="List the bin instead")] = False,
) -> DealQuery:
    """The deal list's query: page, order, filters (owner_id, stage_id, status…), search."""
    simple = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    node = combine(
        parse_filter(filter) if filter else None,
        parse_query_params(simple, FIELDS) if simple else None,
    )
    if q is not None and not q.strip():
        raise invalid(("q",), "search text is empty")
    limit = min(limit, get_settings().max_page_size)
    return DealQuery(limit=limit, cursor=cursor, sort=sort, filter=node, q=q, deleted=deleted)


DealListQuery = Annotated[DealQuery, Depends(deal_query)]
