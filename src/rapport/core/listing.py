"""The one list and export of any record type (:mod:`rapport.core.records`).

A list is keyset pages in an indexed order, the filter language, the bin (``deleted``), and
with ``q`` the best search matches instead. Its count is capped (:func:`count_records`: exact
up to ``COUNT_CAP``, then "10,000+"; never an unbounded ``count(*)``), and
:func:`matching_ids` gives the ids a filter keeps, capped too, for a bulk action on all of
them. An export writes every live
record a filter keeps, as CSV (through :mod:`csv_cells`) or JSON lines, read in keyset chunks
through its own session, so memory stays flat at any size and the stream outlives the request's
unit of work. People and companies have round-trip exporters of their own (hygiene); this one
serves every record type that declares ``export_columns``.
"""

from __future__ import annotations

import enum
import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, load_only

from rapport.core import csv_cells
from rapport.core.config import get_settings
from rapport.core.context import Context
from rapport.core.db import get_database
from rapport.core.errors import BadRequest, Invalid, invalid
from rapport.core.filtering import (
    FieldSet,
    Node,
    combine,
    compile_filter,
    parse_filter,
    parse_query_params,
)
from rapport.core.pagination import Page, keyset_page, parse_sort
from rapport.core.records import M, RecordType
from rapport.core.search import search, search_page

RESERVED = {"limit", "cursor", "sort", "q", "filter", "fields", "deleted"}
EXPORT_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
EXPORT_CHUNK = 2000
FLUSH_EVERY = 500  # CSV rows per chunk of the stream
COUNT_CAP = 10_000  # a list counts exactly up to this, then says "10,000+"
SEARCH_CAP = 1_000  # a search ranks at most this many matches to count or select them
MAX_MATCHING = 10_000  # records a bulk action on "all matching" a list's filter may change


@dataclass
class ListParams:
    """What a list request asks for: a page, an order, a filter, a search."""

    limit: int = 50
    cursor: str | None = None
    sort: str | None = None
    filter: Node | None = None
    q: str | None = None
    deleted: bool = False  # list the bin (soft-deleted records) instead


def filter_condition(ctx: Context, kind: RecordType[Any], node: Node) -> ColumnElement[bool]:
    """The filter as a WHERE clause on the record type (with the workspace's custom fields)."""
    custom = kind.custom_types(ctx) if kind.custom_types is not None else {}
    dialect = ctx.session.get_bind().dialect.name
    return compile_filter(node, kind.fields, custom_types=custom, dialect_name=dialect)


def _filtered(
    ctx: Context, kind: RecordType[Any], params: ListParams, where: Sequence[ColumnElement[bool]]
) -> Select[Any]:
    """The records the list keeps (permission, bin, the caller's conditions, the filter)."""
    ctx.require(kind.read)
    model: Any = kind.model
    stmt = select(model).where(*where)
    if params.deleted:
        stmt = stmt.where(model.deleted_at.is_not(None)).execution_options(include_deleted=True)
    if params.filter is not None:
        stmt = stmt.where(filter_condition(ctx, kind, params.filter))
    return stmt


def _searchable(kind: RecordType[Any]) -> None:
    if not kind.searchable:
        raise invalid(("q",), f"{kind.plural} cannot be searched; filter them instead")


def list_records(
    ctx: Context,
    kind: RecordType[M],
    params: ListParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
) -> Page[M]:
    """A page of records: sorted, filtered, or (with ``q``) the best search matches.
    ``where`` adds conditions of the caller's own (the task list's due windows)."""
    model: Any = kind.model
    stmt = _filtered(ctx, kind, params, where)
    if kind.list_columns:
        stmt = stmt.options(load_only(*kind.list_columns))
    if params.q:
        _searchable(kind)
        return search_page(
            ctx.session,
            stmt,
            model.id,
            ctx.workspace_id,
            params.q,
            record_type=kind.name,
            limit=params.limit,
            cursor=params.cursor,
        )
    sort = parse_sort(params.sort, kind.sorts, kind.default_sort)
    return keyset_page(
        ctx.session, stmt, sort=sort, id_column=model.id, limit=params.limit, cursor=params.cursor
    )


@dataclass(frozen=True)
class Count:
    """How many records a list keeps: exact up to ``cap``, else "more than ``cap``"."""

    n: int  # never above cap
    capped: bool  # there are more than ``cap``
    cap: int

    @property
    def label(self) -> str:
        """ "1,234", or "10,000+" past the cap."""
        return f"{self.cap:,}+" if self.capped else f"{self.n:,}"

    def of(self, one: str, many: str) -> str:
        """ "1 person", "2,345 people", "10,000+ people"."""
        return f"{self.label} {one if self.n == 1 and not self.capped else many}"


def _ids_query(
    ctx: Context,
    kind: RecordType[Any],
    params: ListParams,
    where: Sequence[ColumnElement[bool]],
    cap: int,
) -> tuple[Select[Any], int]:
    """The ids the list keeps (at most ``cap`` + 1 of them) and the cap that holds for them:
    a search counts at most ``SEARCH_CAP`` ranked matches."""
    model: Any = kind.model
    stmt = _filtered(ctx, kind, params, where).with_only_columns(model.id)
    if params.q:
        _searchable(kind)
        cap = min(cap, SEARCH_CAP)
        hits = search(ctx.session, ctx.workspace_id, params.q, types=[kind.name], limit=cap + 1)
        stmt = stmt.where(model.id.in_([hit.record_id for hit in hits]))
    return stmt.limit(cap + 1), cap


def count_records(
    ctx: Context,
    kind: RecordType[Any],
    params: ListParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    cap: int | None = None,
) -> Count:
    """How many records ``params`` keeps, counted to ``cap`` (``COUNT_CAP``) and no further:
    ``SELECT count(*) FROM (… LIMIT cap + 1)``, so the cost is bounded at any size."""
    stmt, cap = _ids_query(ctx, kind, params, where, COUNT_CAP if cap is None else cap)
    n = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return Count(n=min(n, cap), capped=n > cap, cap=cap)


def matching_ids(
    ctx: Context,
    kind: RecordType[Any],
    params: ListParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    cap: int | None = None,
) -> tuple[list[uuid.UUID], Count]:
    """The ids of every record ``params`` keeps (for a bulk action on all of them) and their
    count; past ``cap`` the ids are cut and the count says so, for the caller to refuse."""
    stmt, cap = _ids_query(ctx, kind, params, where, COUNT_CAP if cap is None else cap)
    ids = list(ctx.session.scalars(stmt))
    return ids[:cap], Count(n=min(len(ids), cap), capped=len(ids) > cap, cap=cap)


def all_matching(
    ctx: Context,
    kind: RecordType[Any],
    params: ListParams,
    *,
    noun: str,
    where: Sequence[ColumnElement[bool]] = (),
    cap: int | None = None,
) -> list[uuid.UUID]:
    """Every record a list keeps (its filter, search and the caller's ``where``), for a bulk
    action on "all matching"; past ``cap`` (``MAX_MATCHING``) Invalid saying how many
    ``noun`` it would have changed, so the list's own bulk actions refuse alike."""
    cap = MAX_MATCHING if cap is None else cap
    ids, count = matching_ids(ctx, kind, params, where=where, cap=cap)
    if count.capped:
        wider = count_records(ctx, kind, params, where=where, cap=10 * cap)
        raise Invalid(f"This would change {wider.label} {noun}; narrow the filter below {cap:,}")
    return ids


def list_query(fields: FieldSet, sorts: Iterable[str]) -> Any:
    """The API's list query of a record type filtered by ``fields`` and sorted by one of
    ``sorts``, as an annotated FastAPI dependency that yields :class:`ListParams`."""
    sort_help = f"{', '.join(sorts)}; - in front for descending, e.g. -created_at"

    async def dependency(  # no I/O: no trip to the threadpool
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        cursor: Annotated[
            str | None, Query(description="From next_cursor of the previous page")
        ] = None,
        sort: str | None = Query(None, description=sort_help),  # a default: built per type
        q: Annotated[str | None, Query(max_length=200, description="Typo-tolerant search")] = None,
        filter: Annotated[str | None, Query(description="JSON filter expression")] = None,
        deleted: Annotated[bool, Query(description="List the bin instead")] = False,
    ) -> ListParams:
        limit = min(limit, get_settings().max_page_size)
        simple = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        node = combine(
            parse_filter(filter) if filter else None,
            parse_query_params(simple, fields) if simple else None,
        )
        if q is not None and not q.strip():
            raise invalid(("q",), "search text is empty")
        return ListParams(limit=limit, cursor=cursor, sort=sort, filter=node, q=q, deleted=deleted)

    return Annotated[ListParams, Depends(dependency)]


# --- export -----------------------------------------------------------------------------------

ORDERED_CHUNK = 900  # ids per IN (...) of an export in a list's order: under SQLite's old limit


@dataclass(frozen=True)
class ExportOrder:
    """The order an export writes its records in, to match the list it was taken from: the
    list's ``sort``, or with ``q`` the search's best matches in their rank (as the list shows
    them, at most ``SEARCH_CAP``). Neither: by id, the cheapest order at any size."""

    sort: str | None = None
    q: str | None = None


def export_order(kind: RecordType[Any], sort: str | None, q: str | None) -> ExportOrder:
    """The export's order, checked now (a sort the list does not offer is a 422 before the
    stream starts, not a broken file)."""
    if q is not None and q.strip():
        _searchable(kind)
        return ExportOrder(q=q.strip())
    if sort:
        parse_sort(sort, kind.sorts, kind.default_sort)
        return ExportOrder(sort=sort)
    return ExportOrder()


def export_chunks(
    session: Session,
    workspace_id: uuid.UUID,
    kind: RecordType[Any],
    stmt: Select[Any],
    order: ExportOrder,
    *,
    chunk: int = EXPORT_CHUNK,
    id_of: Callable[[Any], uuid.UUID] = lambda row: row[0],
) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` (its filter included) in chunks, in the export's order: keyset by
    id; or the ids in the list's sort (keyset on the sort, then id) or search rank, a chunk
    at a time, each chunk's rows read with ``stmt`` and put in that order (``id_of``: a row's
    id). Memory stays flat whatever the size, but for a search's capped matches."""
    model: Any = kind.model
    if not order.sort and not order.q:
        last: uuid.UUID | None = None
        while True:
            page = stmt.order_by(model.id).limit(chunk)
            if last is not None:
                page = page.where(model.id > last)
            rows = session.execute(page).all()
            yield rows
            if len(rows) < chunk:
                return
            last = id_of(rows[-1])
            session.expunge_all()  # what the chunk loaded is written; memory stays flat
    for ids in _ordered_ids(session, workspace_id, kind, stmt, order):
        rows = session.execute(stmt.where(model.id.in_(ids))).all()
        place = {record_id: n for n, record_id in enumerate(ids)}
        yield sorted(rows, key=lambda row: place[id_of(row)])
        session.expunge_all()


def _ordered_ids(
    session: Session,
    workspace_id: uuid.UUID,
    kind: RecordType[Any],
    stmt: Select[Any],
    order: ExportOrder,
) -> Iterator[list[uuid.UUID]]:
    model: Any = kind.model
    if order.q:
        hits = search(session, workspace_id, order.q, types=[kind.name], limit=SEARCH_CAP)
        ranked = [hit.record_id for hit in hits]
        for start in range(0, len(ranked), ORDERED_CHUNK):
            yield ranked[start : start + ORDERED_CHUNK]
        return
    keys = parse_sort(order.sort, kind.sorts, kind.default_sort)
    columns = [model.id, *(key.column for key in keys)]
    ids_stmt = stmt.with_only_columns(model).options(load_only(*columns))
    cursor: str | None = None
    while True:
        page = keyset_page(session, ids_stmt, sort=keys, id_column=model.id,
                           limit=ORDERED_CHUNK, cursor=cursor)  # fmt: skip
        yield [row.id for row in page.items]
        session.expunge_all()  # the next read loads whole rows, not these few columns
        if not page.has_more:
            return
        cursor = page.next_cursor


def export_records(
    ctx: Context,
    kind: RecordType[Any],
    fmt: str,
    node: Node | None = None,
    order: ExportOrder | None = None,
) -> Iterator[str]:
    """Check the request now (so a mistake is a 4xx, not a broken stream) and return the
    export of the live records ``node`` keeps, in ``order`` (a list's sort or search), as
    text chunks in ``fmt``."""
    ctx.require(kind.read)
    if not kind.export_columns:
        raise BadRequest(f"{kind.plural} have no generic export")
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    condition = filter_condition(ctx, kind, node) if node is not None else None
    rows = _rows(ctx.workspace_id, kind, condition, order or ExportOrder())
    names = [column.key for column in kind.export_columns]
    return _csv(names, rows) if fmt == "csv" else _json_lines(names, rows)


def _rows(
    workspace_id: uuid.UUID,
    kind: RecordType[Any],
    condition: ColumnElement[bool] | None,
    order: ExportOrder,
) -> Iterator[Sequence[Any]]:
    model: Any = kind.model
    stmt = select(model.id, *kind.export_columns)
    if condition is not None:
        stmt = stmt.where(condition)
    # Its own session: a streamed response outlives the request's unit of work.
    with get_database().session(workspace_id) as session:
        for rows in export_chunks(session, workspace_id, kind, stmt, order):
            for row in rows:
                yield row[1:]


def _plain(value: Any) -> Any:
    """A value as JSON has it: ids, instants and amounts as text (no float rounding)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def _csv(names: list[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    writer.writerow(names)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(value) for value in row])
        if count % FLUSH_EVERY == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _cell(value: Any) -> str:
    plain = _plain(value)
    if plain is None:
        return ""
    if isinstance(plain, bool):
        return "true" if plain else "false"
    return plain if isinstance(plain, str) else json.dumps(plain)


def _json_lines(names: list[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(dict(zip(names, map(_plain, row), strict=True))) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
