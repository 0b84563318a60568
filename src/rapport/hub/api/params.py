"""Parsing list requests (?limit&cursor&sort&q&filter and ?field=value) into ListParams."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from rapport.core.config import get_settings
from rapport.core.errors import invalid
from rapport.core.filtering import FieldSet, combine, parse_filter, parse_query_params
from rapport.hub.service.common import ListParams

RESERVED = {"limit", "cursor", "sort", "q", "filter", "fields", "deleted"}


def list_params(fieldset: FieldSet):  # type: ignore[no-untyped-def]  # returns a FastAPI dependency
    """A dependency that reads the list query of a record type whose filters are ``fieldset``."""

    def dependency(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        cursor: Annotated[
            str | None, Query(description="From next_cursor of the previous page")
        ] = None,
        sort: Annotated[str | None, Query(description="e.g. full_name or -created_at")] = None,
        q: Annotated[str | None, Query(max_length=200, description="Typo-tolerant search")] = None,
        filter: Annotated[str | None, Query(description="JSON filter expression")] = None,
        deleted: Annotated[bool, Query(description="List the bin instead")] = False,
    ) -> ListParams:
        limit = min(limit, get_settings().max_page_size)
        simple = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        node = combine(
            parse_filter(filter) if filter else None,
            parse_query_params(simple, fieldset) if simple else None,
        )
        if q is not None and not q.strip():
            raise invalid(("q",), "search text is empty")
        return ListParams(limit=limit, cursor=cursor, sort=sort, filter=node, q=q, deleted=deleted)

    return dependency


def list_query(fieldset: FieldSet):  # type: ignore[no-untyped-def]
    return Annotated[ListParams, Depends(list_params(fieldset))]
