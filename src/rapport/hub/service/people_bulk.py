"""The hub's bulk create of people: the one path besides ``people.create`` that writes a new
person, for imports of many rows. It stores what ``people.create`` stores — the same columns,
normalised values, email and phone rows and search document (a test compares them) — with
one multi-row INSERT (COPY on PostgreSQL) per table instead of ORM objects; the caller audits
the batch once (``import.batch``) rather than per person.

Rows are prepared first (:func:`prepare`: pure, so an import's worker process does it while
the previous batch is written), then inserted (:func:`insert_prepared`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.core.search import index_prepared, prepare_document
from rapport.hub.models import Person, PersonEmail, PersonPhone
from rapport.hub.service.bulk import bind_value, insert_tuples
from rapport.hub.service.people import document_for


class NewPerson(Protocol):
    """A validated, normalised row to create: person fields in ``values`` (first_name,
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


def prepare(rows: Sequence[NewPerson]) -> None:
    """Fill each row's ``prepared`` with what :func:`insert_prepared` writes if it is a new
    person: the ``people`` row (:data:`_PERSON_COLUMNS`), the email and phone rows
    (:data:`_CONTACT_COLUMNS`, or ``None``), the search document and the id as text."""
    ids = iter(hex_ids(3 * len(rows)))
    for row in rows:
        pid, email_id, phone_id = next(ids), next(ids), next(ids)
        values = row.values
        full_name = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
        addresses = json.dumps(values["addresses"]) if "addresses" in values else "[]"
        person = (
            pid, values["first_name"], values["last_name"], full_name, row.email, row.phone,
            values.get("job_title"), values.get("lifecycle_stage", "lead"), values.get("source"),
            values.get("external_id"), addresses,
        )  # fmt: skip
        document = document_for(
            uuid.UUID(pid),
            full_name=full_name,
            job_title=values.get("job_title"),
            company_name=row.company,
            emails=[row.email] if row.email else [],
            phones=[row.phone] if row.phone else [],
        )
        row.prepared = (
            person,
            (email_id, pid, row.email) if row.email else None,
            (phone_id, pid, row.phone) if row.phone else None,
            prepare_document(document),
            f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}",
        )


_PERSON_COLUMNS = (
    "id", "first_name", "last_name", "full_name", "email", "phone", "job_title",
    "lifecycle_stage", "source", "external_id", "addresses",
)  # fmt: skip
_CONTACT_COLUMNS = ("id", "person_id", "{}")


def insert_prepared(
    ctx: Context, rows: Sequence[NewPerson], company_ids: dict[str, uuid.UUID]
) -> list[str]:
    """New people, their emails, phones and search documents: one ``executemany`` (SQLite)
    or ``COPY`` (PostgreSQL) per table of the prepared rows (``company_ids``: by lower-cased
    company name). The new ids, as text. The caller announces them (one summary event)."""
    ctx.require("people:write")
    if not rows:
        return []
    prepare([r for r in rows if r.prepared is None])  # rows not cleaned by clean_batch
    connection = ctx.session.connection()
    person, email = table_of(Person), table_of(PersonEmail)
    now = bind_value(connection, person.c.created_at, utcnow())
    ws = ("workspace_id", bind_value(connection, person.c.workspace_id, ctx.workspace_id))
    person_constants = [
        ws, ("preferences", "{}"), ("custom", "{}"), ("consent_status", "unknown"),
        ("version", 1), ("created_at", now), ("updated_at", now),
    ]  # fmt: skip
    contact_constants = [
        ws,
        ("is_primary", bind_value(connection, email.c.is_primary, True)),
        ("position", 0),
    ]
    prepared = [r.prepared for r in rows]
    person_rows = [p[0] for p in prepared]  # type: ignore[index]
    person_columns: tuple[str, ...] = _PERSON_COLUMNS
    if company_ids:
        companies_hex = {k: v.hex for k, v in company_ids.items()}
        person_columns += ("company_id",)
        person_rows = [
            (*p, companies_hex.get(r.company.lower()) if r.company else None)
            for p, r in zip(person_rows, rows, strict=True)
        ]
    session = ctx.session
    insert_tuples(session, person, person_columns, person_rows, constants=person_constants)
    insert_tuples(
        session,
        email,
        [c.format("email") for c in _CONTACT_COLUMNS],
        [p[1] for p in prepared if p[1]],  # type: ignore[index]
        constants=contact_constants,
    )
    insert_tuples(
        session,
        table_of(PersonPhone),
        [c.format("number") for c in _CONTACT_COLUMNS],
        [p[2] for p in prepared if p[2]],  # type: ignore[index]
        constants=contact_constants,
    )
    index_prepared(session, ctx.workspace_id, "person", [(p[0][0], p[3]) for p in prepared])  # type: ignore[index]
    return [p[4] for p in prepared]  # type: ignore[index]
