"""The hub's bulk create of people: the one path besides ``people.create`` that writes a new
person, for many at once. It stores what ``people.create`` stores — the same columns,
normalised values, email and phone rows, tags and search document (tests compare them) —
with one multi-row INSERT (COPY on PostgreSQL) per table instead of ORM objects; the caller
audits and announces what it created (an import once per batch, ``import.batch``; the API's
bulk upsert per person, ``person.created``).

Two shapes of input share one writer: an import's rows (:class:`NewPerson`: one email, one
phone, a company by name), prepared first (:func:`prepare`: pure, so an import's worker process
does it while the previous batch is written) and then inserted (:func:`insert_prepared`); and
people as the API takes them, every field, several labelled emails and phones, tags
(:func:`create`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import insert, select

from rapport.core.bulk import bind_value, insert_tuples
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import dump_json, table_of
from rapport.core.search import PreparedDocument, index_prepared, prepare_document
from rapport.hub.models import Company, Person, PersonEmail, PersonPhone, person_tags
from rapport.hub.service.common import tags_by_name
from rapport.hub.service.people import _Clean, document_for


class NewPerson(Protocol):
    """A validated, normalised import row to create: person fields in ``values`` (first_name,
    last_name, job_title, lifecycle_stage, source, external_id, addresses), its email, phone
    and company name; ``prepared`` is filled by :func:`prepare`."""

    values: dict[str, Any]
    email: str | None
    phone: str | None
    company: str | None
    prepared: tuple[Any, ...] | None


def hex_ids(count: int) -> list[str]:
    """``count`` fresh UUIDv7 ids as 32 hex digits, increasing (RFC 9562: the millisecond
    clock, then a counter in the top of the random bits — method 1 — then random bits), made
    in bulk: the general ``new_id`` costs more than the row it names."""
    if count > 1 << 20:
        raise ValueError("at most 2**20 ids per call")
    rand = int.from_bytes(os.urandom(8), "big")
    base = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (rand >> 52) << 64
    base |= 0b10 << 62 | (rand & ((1 << 42) - 1))
    return [f"{base | i << 42:032x}" for i in range(count)]


_PERSON_COLUMNS = (
    "id", "first_name", "last_name", "full_name", "email", "phone", "job_title",
    "lifecycle_stage", "source", "external_id", "addresses",
)  # fmt: skip
# The columns an import row leaves at their defaults, which a person of the API may set.
_MORE_COLUMNS = ("company_id", "owner_id", "preferences", "consent_status", "custom")


def _person(
    pid: str, values: dict[str, Any], emails: list[str], phones: list[str], company: str | None
) -> tuple[tuple[Any, ...], PreparedDocument]:
    """A new person's ``people`` row (:data:`_PERSON_COLUMNS`) and prepared search document."""
    first, last = values.get("first_name", ""), values.get("last_name", "")
    full_name = " ".join(p for p in (first, last) if p)
    addresses = dump_json(values["addresses"]) if "addresses" in values else "[]"
    row = (
        pid, first, last, full_name,
        emails[0] if emails else None, phones[0] if phones else None, values.get("job_title"),
        values.get("lifecycle_stage", "lead"), values.get("source"), values.get("external_id"),
        addresses,
    )  # fmt: skip
    document = document_for(
        uuid.UUID(pid),
        full_name=full_name,
        job_title=values.get("job_title"),
        company_name=company,
        emails=emails,
        phones=phones,
    )
    return row, prepare_document(document)


def prepare(rows: Sequence[NewPerson]) -> None:
    """Fill each row's ``prepared`` with what :func:`insert_prepared` writes if it is a new
    person: the ``people`` row (:data:`_PERSON_COLUMNS`), the email and phone rows
    (:func:`_contact_columns`, or ``None``), the search document and the id as text."""
    ids = iter(hex_ids(3 * len(rows)))
    for row in rows:
        pid, email_id, phone_id = next(ids), next(ids), next(ids)
        person, document = _person(
            pid,
            row.values,
            [row.email] if row.email else [],
            [row.phone] if row.phone else [],
            row.company,
        )
        row.prepared = (
            person,
            (email_id, pid, row.email) if row.email else None,
            (phone_id, pid, row.phone) if row.phone else None,
            document,
            f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}",
        )


def insert_prepared(
    ctx: Context, rows: Sequence[NewPerson], company_ids: dict[str, uuid.UUID]
) -> list[str]:
    """New people, their emails, phones and search documents from import rows: one
    ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) per table of the prepared rows
    (``company_ids``: by lower-cased company name). The new ids, as text. The caller
    announces them (one summary event)."""
    ctx.require("people:write")
    if not rows:
        return []
    prepare([r for r in rows if r.prepared is None])  # rows not cleaned by clean_batch
    prepared = [p for r in rows if (p := r.prepared) is not None]  # every row, now
    person_rows = [p[0] for p in prepared]
    person_columns: tuple[str, ...] = _PERSON_COLUMNS
    if company_ids:
        companies_hex = {k: v.hex for k, v in company_ids.items()}
        person_columns += ("company_id",)
        person_rows = [
            (*p, companies_hex.get(r.company.lower()) if r.company else None)
            for p, r in zip(person_rows, rows, strict=True)
        ]
    defaults = [("preferences", "{}"), ("custom", "{}"), ("consent_status", "unknown")]
    is_primary = table_of(PersonEmail).c.is_primary
    first = [
        ("is_primary", bind_value(ctx.session.connection(), is_primary, True)),
        ("position", 0),
    ]
    _write(
        ctx,
        (person_columns, person_rows, defaults),
        (_contact_columns("email"), [p[1] for p in prepared if p[1]], first),
        (_contact_columns("number"), [p[2] for p in prepared if p[2]], first),
        [(p[0][0], p[3]) for p in prepared],
    )
    return [p[4] for p in prepared]


def create(ctx: Context, people: Sequence[_Clean]) -> list[uuid.UUID]:
    """New people as the API takes them, validated and normalised by ``people``'s rules and
    with emails no one has yet (the caller checks): every field, their labelled emails and
    phones in order (the first is the primary), tags (missing ones created) and search
    documents. Their ids, in order. The caller audits and announces each."""
    ctx.require("people:write")
    if not people:
        return []
    unknown = {k for p in people for k in p.values} - {*_PERSON_COLUMNS, *_MORE_COLUMNS}
    if unknown:  # a field people.create stores that this writer would drop
        raise ValueError(f"people_bulk.create stores no {', '.join(sorted(unknown))}")
    connection = ctx.session.connection()
    is_primary = table_of(PersonEmail).c.is_primary
    primary, other = (bind_value(connection, is_primary, flag) for flag in (True, False))
    names = _company_names(ctx, {c for p in people if (c := p.values.get("company_id"))})
    ids = iter(hex_ids(sum(1 + len(p.emails or []) + len(p.phones or []) for p in people)))
    person_rows: list[tuple[Any, ...]] = []
    contacts: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] = ([], [])
    documents: list[tuple[str, PreparedDocument]] = []
    tagged: list[tuple[uuid.UUID, list[str]]] = []
    for person in people:
        pid, values = next(ids), person.values
        listed = (person.emails or [], person.phones or [])
        company_id, owner_id = values.get("company_id"), values.get("owner_id")
        company = names.get(company_id) if company_id else None
        row, document = _person(
            pid, values, [e for e, _ in listed[0]], [n for n, _ in listed[1]], company
        )
        person_rows.append(
            (
                *row, company_id.hex if company_id else None, owner_id.hex if owner_id else None,
                dump_json(values.get("preferences", {})),
                values.get("consent_status", "unknown"), dump_json(values.get("custom", {})),
            )
        )  # fmt: skip
        for found, entries in zip(contacts, listed, strict=True):
            found += [
                (next(ids), pid, value, label, primary if n == 0 else other, n)
                for n, (value, label) in enumerate(entries)
            ]
        documents.append((pid, document))
        if person.tags:
            tagged.append((uuid.UUID(pid), person.tags))
    in_order = ("label", "is_primary", "position")
    _write(
        ctx,
        ((*_PERSON_COLUMNS, *_MORE_COLUMNS), person_rows, []),
        ((*_contact_columns("email"), *in_order), contacts[0], []),
        ((*_contact_columns("number"), *in_order), contacts[1], []),
        documents,
    )
    link_tags(ctx, tagged)
    return [uuid.UUID(pid) for pid, _ in documents]


def _contact_columns(value: str) -> tuple[str, ...]:
    """An email's or a phone's columns: its id, its person and the ``value`` column."""
    return ("id", "person_id", value)


# One table's new rows for ``insert_tuples``: its columns, the rows, and constant columns.
Rows = tuple[Sequence[str], list[tuple[Any, ...]], list[tuple[str, Any]]]


def _write(
    ctx: Context,
    people: Rows,
    emails: Rows,
    phones: Rows,
    documents: list[tuple[str, PreparedDocument]],
) -> None:
    """The one writer of new people: their rows, with what every new person gets alike (the
    workspace, a first version, the creation time, and the consent recorded then, as
    ``people.create`` records it), their emails, phones and search documents."""
    session = ctx.session
    connection = session.connection()
    person = table_of(Person)
    now = bind_value(connection, person.c.created_at, utcnow())
    ws = ("workspace_id", bind_value(connection, person.c.workspace_id, ctx.workspace_id))
    stamps = [
        ws, ("version", 1), ("created_at", now), ("updated_at", now),
        ("consent_updated_at", now),
    ]  # fmt: skip
    columns, rows, constants = people
    insert_tuples(session, person, columns, rows, constants=[*stamps, *constants])
    for table, (columns, rows, constants) in (
        (table_of(PersonEmail), emails),
        (table_of(PersonPhone), phones),
    ):
        insert_tuples(session, table, columns, rows, constants=[ws, *constants])
    index_prepared(session, ctx.workspace_id, "person", documents)


def link_tags(ctx: Context, tagged: Sequence[tuple[uuid.UUID, Sequence[str]]]) -> None:
    """Tag people just inserted in bulk (``(person id, tag names)``), creating missing tags,
    as ``people.create`` tags one."""
    if not tagged:
        return
    tags = {t.name.lower(): t.id for t in tags_by_name(ctx, [n for _, ns in tagged for n in ns])}
    links = {
        (pid, tags[key])
        for pid, names in tagged
        for name in names
        if (key := " ".join(name.split()).lower())
    }
    ctx.session.execute(
        insert(person_tags),
        [{"person_id": p, "tag_id": t, "workspace_id": ctx.workspace_id} for p, t in links],
    )


def _company_names(ctx: Context, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Company names by id: a person's search document names their company."""
    if not ids:
        return {}
    query = select(Company.id, Company.name).where(Company.id.in_(ids))
    return dict(ctx.session.execute(query).all())
