"""Exporting people as CSV, vCard or JSON lines, filtered by the list filter language.

Rows are read in keyset order (by id) in chunks of ``CHUNK`` and written as they come, so
memory stays flat whatever the size. The columns are the import fields, so an export imports
back unchanged (round trip).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, cast
from urllib.parse import parse_qsl

import vobject
from sqlalchemy import Select, select

from rapport.core.context import Context
from rapport.core.db import get_database
from rapport.core.errors import BadRequest, invalid
from rapport.core.filtering import Node, combine, compile_filter, parse_filter, parse_query_params
from rapport.hub.models import Company, Person
from rapport.hub.service import fields
from rapport.hub.service.people_list import FIELDS
from rapport.web import saved_views

CHUNK = 2000
FORMATS = {"csv": "text/csv", "vcf": "text/vcard", "jsonl": "application/x-ndjson"}
COLUMNS = (
    "id", "external_id", "first_name", "last_name", "email", "phone", "job_title", "company",
    "source", "lifecycle_stage", "street", "city", "region", "postal_code", "country",
)  # fmt: skip
ADDRESS = ("street", "city", "region", "postal_code", "country")


IGNORED = {"limit", "cursor", "sort", "fields", "deleted", "view", "filter", "q", "cols"}


def build_filter(
    ctx: Context, params: Mapping[str, str], filter_text: str | None, view_id: uuid.UUID | None
) -> Node | None:
    """The export's filter: ``?filter=`` and ``?field=value`` like the people list, ANDed with
    a saved view's filters (``?view=``). Search text cannot be streamed, so it is refused."""
    if "q" in params:
        raise invalid(("q",), "exports take filters, not search text; use filter or field=value")
    simple = {k: v for k, v in params.items() if k not in IGNORED}
    node = combine(
        parse_filter(filter_text) if filter_text else None,
        parse_query_params(simple, FIELDS) if simple else None,
    )
    if view_id is None:
        return node
    view = saved_views.get_view(ctx, view_id)
    if view.object_type != "person":
        raise invalid(("view",), "this saved view does not list people")
    pairs = parse_qsl(view.query)
    if any(k == "q" and v for k, v in pairs):
        raise invalid(("view",), "this view searches by text; exports take its filters only")
    from rapport.web.people_views import FILTER_FIELDS  # the list page's names → fields

    saved = {FILTER_FIELDS.get(k, k): v for k, v in pairs if k not in IGNORED and v}
    saved_filter = next((v for k, v in pairs if k == "filter" and v), None)
    return combine(
        node,
        parse_filter(saved_filter) if saved_filter else None,
        parse_query_params(saved, FIELDS) if saved else None,
    )


def export_people(ctx: Context, fmt: str, filter_: Node | None = None) -> Iterator[str]:
    """Check the request now (so errors are 4xx, not a broken stream) and return the text
    of the export as a generator that reads through its own session."""
    ctx.require("export:read")
    ctx.require("people:read")
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    stmt = select(
        Person.id, Person.external_id, Person.first_name, Person.last_name, Person.email,
        Person.phone, Person.job_title, Company.name.label("company"), Person.source,
        Person.lifecycle_stage, Person.addresses,
    ).outerjoin(Company, Company.id == Person.company_id)  # fmt: skip
    if filter_ is not None:
        dialect = ctx.session.get_bind().dialect.name
        types = fields.filter_types(ctx, "person")
        stmt = stmt.where(compile_filter(filter_, FIELDS, custom_types=types, dialect_name=dialect))
    return _stream(ctx.workspace_id, cast(Select[Any], stmt), fmt)


def _rows(workspace_id: uuid.UUID, stmt: Select[Any]) -> Iterator[dict[str, Any]]:
    # Its own session: a streamed response outlives the request's unit of work.
    with get_database().session(workspace_id) as session:
        last: uuid.UUID | None = None
        while True:
            page = stmt.order_by(Person.id).limit(CHUNK)
            if last is not None:
                page = page.where(Person.id > last)
            rows = session.execute(page).mappings().all()
            for row in rows:
                out = {k: row[k] for k in COLUMNS if k not in ADDRESS}
                address = (row["addresses"] or [{}])[0]
                out |= {k: address.get(k) for k in ADDRESS}
                out["id"] = str(row["id"])
                yield out
            if len(rows) < CHUNK:
                return
            last = rows[-1]["id"]


def _stream(workspace_id: uuid.UUID, stmt: Select[Any], fmt: str) -> Iterator[str]:
    rows = _rows(workspace_id, stmt)
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({k: v for k, v in row.items() if v not in (None, "")}) + "\n"
        return
    if fmt == "vcf":
        for row in rows:
            yield vcard(row)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if row[k] is None else row[k] for k in COLUMNS])
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def vcard(row: dict[str, Any]) -> str:
    """One person as a vCard 3.0."""
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
    return str(card.serialize())


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# --- companies ------------------------------------------------------------------------------

COMPANY_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def export_companies(ctx: Context, fmt: str) -> Iterator[str]:
    """Every live company as CSV or JSON lines, with the columns a companies import reads
    (custom fields as ``custom.<key>``), so an export imports back unchanged. Checked now,
    streamed through its own session in keyset order."""
    ctx.require("export:read")
    ctx.require("companies:read")
    if fmt not in COMPANY_FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; one of {', '.join(COMPANY_FORMATS)}")
    kinds = {k: d.field_type for k, d in sorted(fields.definitions(ctx, "company").items())}
    return _company_stream(ctx.workspace_id, fmt, kinds)


def _company_rows(workspace_id: uuid.UUID, kinds: dict[str, str]) -> Iterator[dict[str, Any]]:
    from sqlalchemy.orm import selectinload

    from rapport.accounts.models import User
    from rapport.core.context import system_context
    from rapport.hygiene.service.importing_companies import external_ids

    with get_database().session(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        last: uuid.UUID | None = None
        while True:
            stmt = (
                select(Company, User.email)
                .outerjoin(User, User.id == Company.owner_id)
                .options(selectinload(Company.tags))
                .order_by(Company.id)
                .limit(CHUNK)
            )
            if last is not None:
                stmt = stmt.where(Company.id > last)
            rows = session.execute(stmt).all()
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
            if len(rows) < CHUNK:
                return
            last = rows[-1][0].id
            session.expunge_all()


def _company_stream(workspace_id: uuid.UUID, fmt: str, kinds: dict[str, str]) -> Iterator[str]:
    from rapport.hygiene.service.company_columns import FIELDS as COMPANY_COLUMNS
    from rapport.hygiene.service.importing_companies import cell_text

    rows = _company_rows(workspace_id, kinds)
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({k: v for k, v in row.items() if v not in (None, "", [], {})}) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*COMPANY_COLUMNS, *(f"custom.{k}" for k in kinds)])
    for count, row in enumerate(rows, start=1):
        cells = ["" if row[k] is None else row[k] for k in COMPANY_COLUMNS]
        cells[COMPANY_COLUMNS.index("tags")] = "; ".join(row["tags"])
        cells += [cell_text(kind, row["custom"].get(k)) for k, kind in kinds.items()]
        writer.writerow(cells)
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)
