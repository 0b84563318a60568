"""Exporting people and companies as CSV, vCard or JSON lines, filtered by the list filter
language; any other record type goes through the generic export (:func:`export_records`).

Rows are read in keyset order (by id, or by the list's sort or search rank when the export is
of a list as shown: ``core.listing.export_chunks``) in chunks and written as they come, so
memory stays flat whatever the size. The columns are the import fields (custom fields as
``custom.<key>``, tags), so an export imports back unchanged (round trip). CSV cells are
written by :mod:`csv_cells`, so no spreadsheet runs one as a formula and the import still
reads back the original values.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast
from urllib.parse import parse_qsl

import vobject
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from rapport.accounts.models import User
from rapport.core import csv_cells, listing
from rapport.core.context import Context, system_context
from rapport.core.db import get_database
from rapport.core.errors import BadRequest, invalid
from rapport.core.filtering import (
    Node,
    combine,
    parse_filter,
    parse_query_params,
)
from rapport.core.records import RecordType, record_type
from rapport.hub.models import Company, Person, Tag, person_tags
from rapport.hub.public import fields
from rapport.hygiene.service import company_vcards, sources
from rapport.hygiene.service.columns import cell_text, join_list
from rapport.hygiene.service.company_columns import FIELDS as COMPANY_COLUMNS
from rapport.hygiene.service.import_companies import external_ids
from rapport.web import saved_views

CHUNK = 2000
LOOKUP = 900  # keys per IN (...): under SQLite's old 999-parameter limit
Progress = Callable[[int], None]  # called with the count of records written so far
FORMATS = {"csv": "text/csv", "vcf": "text/vcard", "jsonl": "application/x-ndjson"}
COLUMNS = (
    "id", "external_id", "first_name", "last_name", "email", "phone", "job_title", "company",
    "source", "lifecycle_stage", "street", "city", "region", "postal_code", "country",
)  # fmt: skip
ADDRESS = ("street", "city", "region", "postal_code", "country")


IGNORED = {"limit", "cursor", "sort", "fields", "deleted", "view", "filter", "q", "cols"}


def build_filter(
    ctx: Context,
    params: Mapping[str, str],
    filter_text: str | None,
    view_id: uuid.UUID | None,
    object_type: str = "person",
) -> Node | None:
    """The export's filter: ``?filter=`` and ``?field=value`` like the record type's list,
    ANDed with a saved view's filters (``?view=``). The search text and sort of a list are
    the export's order (:func:`rapport.core.listing.export_order`), not its filter."""
    kind = record_type(object_type)
    simple = {k: v for k, v in params.items() if k not in IGNORED}
    node = combine(
        parse_filter(filter_text) if filter_text else None,
        parse_query_params(simple, kind.fields) if simple else None,
    )
    if view_id is None:
        return node
    view = saved_views.get_view(ctx, view_id)
    if view.object_type != object_type:
        raise invalid(("view",), f"this saved view does not list {kind.plural}")
    pairs = parse_qsl(view.query)
    if any(k == "q" and v for k, v in pairs):
        raise invalid(("view",), "this view searches by text; exports take its filters only")
    names = kind.page_filters  # the list page's names → fields
    saved = {names.get(k, k): v for k, v in pairs if k not in IGNORED and v}
    saved_filter = next((v for k, v in pairs if k == "filter" and v), None)
    return combine(
        node,
        parse_filter(saved_filter) if saved_filter else None,
        parse_query_params(saved, kind.fields) if saved else None,
    )


def _where(ctx: Context, object_type: str, filter_: Node | None) -> Any:
    """The filter as a SQL condition on people or companies (None: everything)."""
    if filter_ is None:
        return None
    return listing.filter_condition(ctx, record_type(object_type), filter_)


def count(ctx: Context, object_type: str, filter_: Node | None = None) -> int:
    """How many live people (or companies) an export with this filter writes (the CLI's
    progress total)."""
    ctx.require("export:read")
    kind = record_type(object_type)
    ctx.require(kind.read)
    stmt = select(func.count()).select_from(kind.model)
    condition = _where(ctx, object_type, filter_)
    if condition is not None:
        stmt = stmt.where(condition)
    return int(ctx.session.scalar(stmt) or 0)


def export_people(
    ctx: Context,
    fmt: str,
    filter_: Node | None = None,
    *,
    progress: Progress | None = None,
    order: listing.ExportOrder | None = None,
) -> Iterator[str]:
    """Check the request now (so errors are 4xx, not a broken stream) and return the text
    of the export as a generator that reads through its own session (``progress`` is called
    with the count of people written so far), in ``order`` (a list's sort or search)."""
    ctx.require("export:read")
    ctx.require("people:read")
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    kinds = {k: d.field_type for k, d in sorted(fields.definitions(ctx, "person").items())}
    stmt = select(
        Person.id, Person.external_id, Person.first_name, Person.last_name, Person.email,
        Person.phone, Person.job_title, Company.name.label("company"), Person.source,
        Person.lifecycle_stage, Person.addresses, Person.custom,
    ).outerjoin(Company, Company.id == Person.company_id)  # fmt: skip
    condition = _where(ctx, "person", filter_)
    if condition is not None:
        stmt = stmt.where(condition)
    rows = _rows(ctx.workspace_id, cast(Select[Any], stmt), kinds, order or listing.ExportOrder())
    return _stream(_counted(rows, progress), fmt, kinds)


def _counted(rows: Iterator[dict[str, Any]], progress: Progress | None) -> Iterator[dict[str, Any]]:
    if progress is None:
        yield from rows
        return
    done = 0
    for done, row in enumerate(rows, start=1):  # the count outlives the loop
        yield row
        if done % 100 == 0:
            progress(done)
    progress(done)


def _rows(
    workspace_id: uuid.UUID, stmt: Select[Any], kinds: dict[str, str], order: listing.ExportOrder
) -> Iterator[dict[str, Any]]:
    # Its own session: a streamed response outlives the request's unit of work.
    with get_database().session(workspace_id) as session:
        person = record_type("person")
        for chunk in listing.export_chunks(session, workspace_id, person, stmt, order, chunk=CHUNK):
            rows = [row._mapping for row in chunk]
            tags = _person_tags(session, [row["id"] for row in rows])
            for row in rows:
                out = {k: row[k] for k in COLUMNS if k not in ADDRESS}
                address = (row["addresses"] or [{}])[0]
                out |= {k: address.get(k) for k in ADDRESS}
                out["id"] = str(row["id"])
                out["tags"] = tags.get(row["id"], [])
                custom = row["custom"] or {}
                out["custom"] = {k: custom[k] for k in kinds if k in custom}
                yield out


def _person_tags(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The tag names of some people, each list sorted."""
    out: dict[uuid.UUID, list[str]] = {}
    for start in range(0, len(ids), LOOKUP):
        stmt = (
            select(person_tags.c.person_id, Tag.name)
            .join(Tag, Tag.id == person_tags.c.tag_id)
            .where(person_tags.c.person_id.in_(ids[start : start + LOOKUP]))
        )
        for person_id, name in session.execute(stmt):
            out.setdefault(person_id, []).append(name)
    return {k: sorted(v, key=str.lower) for k, v in out.items()}


def _stream(rows: Iterator[dict[str, Any]], fmt: str, kinds: dict[str, str]) -> Iterator[str]:
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({k: v for k, v in row.items() if v not in (None, "", [], {})}) + "\n"
        return
    if fmt == "vcf":
        for row in rows:
            yield vcard(row, kinds)
        return
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    writer.writerow([*COLUMNS, "tags", *(f"custom.{k}" for k in kinds)])
    for number, row in enumerate(rows, start=1):
        cells = ["" if row[k] is None else row[k] for k in COLUMNS]
        cells.append(join_list(row["tags"]))
        cells += [cell_text(kind, row["custom"].get(k)) for k, kind in kinds.items()]
        writer.writerow(cells)
        if number % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def vcard(row: dict[str, Any], kinds: dict[str, str] | None = None) -> str:
    """One person as a vCard 3.0; each custom field (``kinds``: key → type) that has a value
    as an ``X-RAPPORT-FIELD;X-KEY=<key>`` property, which the import reads back."""
    card = vobject.vCard()
    card.add("n").value = vobject.vcard.Name(
        family=row["last_name"] or "", given=row["first_name"] or ""
    )
    full = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    card.add("fn").value = full or row["email"] or "(no name)"
    if row["external_id"]:
        card.add("uid").value = row["external_id"]
    for key, field in (("email", "email"), ("tel", "phone"), ("title", "job_title")):
        if row[field]:
            card.add(key).value = row[field]
    if row["company"]:
        card.add("org").value = [row["company"]]
    if any(row[k] for k in ADDRESS):
        card.add("adr").value = vobject.vcard.Address(
            street=row["street"] or "", city=row["city"] or "", region=row["region"] or "",
            code=row["postal_code"] or "", country=row["country"] or "",
        )  # fmt: skip
    if row.get("tags"):
        card.add("categories").value = list(row["tags"])
    sources.add_custom_fields(card, row.get("custom") or {}, kinds or {})
    return str(card.serialize())


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# --- companies ------------------------------------------------------------------------------

COMPANY_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson", "vcf": "text/vcard"}


def export_companies(
    ctx: Context,
    fmt: str,
    filter_: Node | None = None,
    *,
    progress: Progress | None = None,
    order: listing.ExportOrder | None = None,
) -> Iterator[str]:
    """Live companies (those the filter keeps) as CSV, JSON lines or organisation vCards,
    with the columns a companies import reads (custom fields as ``custom.<key>``), so an
    export imports back unchanged. Checked now, streamed through its own session in keyset
    order (``progress`` is called with the count of companies written so far)."""
    ctx.require("export:read")
    ctx.require("companies:read")
    if fmt not in COMPANY_FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(COMPANY_FORMATS)}")
    kinds = {k: d.field_type for k, d in sorted(fields.definitions(ctx, "company").items())}
    condition = _where(ctx, "company", filter_)
    rows = _company_rows(ctx.workspace_id, kinds, condition, order or listing.ExportOrder())
    return _company_stream(_counted(rows, progress), fmt, kinds)


def _company_rows(
    workspace_id: uuid.UUID, kinds: dict[str, str], condition: Any, order: listing.ExportOrder
) -> Iterator[dict[str, Any]]:
    stmt = cast(
        Select[Any],
        select(Company, User.email)
        .outerjoin(User, User.id == Company.owner_id)
        .options(selectinload(Company.tags)),
    )
    if condition is not None:
        stmt = stmt.where(condition)
    with get_database().session(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        chunks = listing.export_chunks(session, workspace_id, record_type("company"), stmt, order,
                                       chunk=CHUNK, id_of=lambda row: row[0].id)  # fmt: skip
        for rows in chunks:
            externals = external_ids(ctx, [c.id for c, _ in rows])
            for company, owner_email in rows:
                address = company.address or {}
                out: dict[str, Any] = {
                    "id": str(company.id),
                    "external_id": externals.get(company.id),
                    "name": company.name,
                    "domain": company.domain,
                    "website": company.website,
                    "industry": company.industry,
                    "size": company.size,
                    "phone": company.phone,
                    **{k: address.get(k) for k in ADDRESS},
                    "owner_email": owner_email,
                    "tags": sorted((t.name for t in company.tags), key=str.lower),
                    "custom": {k: company.custom[k] for k in kinds if k in company.custom},
                }
                yield out


def _company_stream(
    rows: Iterator[dict[str, Any]], fmt: str, kinds: dict[str, str]
) -> Iterator[str]:
    if fmt == "vcf":
        for row in rows:
            yield company_vcards.card(row, kinds)
        return
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({k: v for k, v in row.items() if v not in (None, "", [], {})}) + "\n"
        return
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    writer.writerow([*COMPANY_COLUMNS, *(f"custom.{k}" for k in kinds)])
    for count, row in enumerate(rows, start=1):
        cells = ["" if row[k] is None else row[k] for k in COMPANY_COLUMNS]
        cells[COMPANY_COLUMNS.index("tags")] = join_list(row["tags"])
        cells += [cell_text(kind, row["custom"].get(k)) for k, kind in kinds.items()]
        writer.writerow(cells)
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


# --- any record type --------------------------------------------------------------------------

# People and companies have exporters of their own (the columns their import reads); any other
# record type with export columns goes through the generic export.
OWN_EXPORTERS = {
    "person": (export_people, FORMATS),
    "company": (export_companies, COMPANY_FORMATS),
}


def formats(kind: RecordType[Any]) -> dict[str, str]:
    """The formats (name → media type) a record type exports in; none: it is not exported."""
    own = OWN_EXPORTERS.get(kind.name)
    if own is not None:
        return own[1]
    return listing.EXPORT_FORMATS if kind.export_columns else {}


def export(
    ctx: Context,
    object_type: str,
    fmt: str,
    filter_: Node | None = None,
    order: listing.ExportOrder | None = None,
) -> Iterator[str]:
    """The export of a record type's live records that ``filter_`` keeps, in ``order`` (the
    list's sort or search: the view as shown), checked now and streamed (see
    :func:`export_people`, :func:`export_companies` and
    :func:`rapport.core.listing.export_records`)."""
    own = OWN_EXPORTERS.get(object_type)
    if own is not None:
        return own[0](ctx, fmt, filter_, order=order)
    ctx.require("export:read")
    return listing.export_records(ctx, record_type(object_type), fmt, filter_, order)
