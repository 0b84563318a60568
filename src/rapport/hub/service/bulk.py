"""Bulk upsert of people by email: the path imports, integrations and the benchmark use.

New people are written with multi-row INSERTs (people, emails, phones, tags, search documents,
audit and outbox rows), so a batch of 1,000 costs a handful of statements, not thousands.
People whose email already exists are updated through the ordinary service, one by one. A bad
item is reported with its index and reasons; the rest of the batch still goes in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select

# Re-exported for the import pipeline, which still imports them from here (until it moves).
from rapport.core.bulk import bind_value as bind_value
from rapport.core.bulk import insert_tuples as insert_tuples
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.core.errors import FieldError, RapportError
from rapport.core.events import record_many
from rapport.core.ids import new_id
from rapport.core.search import index_documents
from rapport.hub.events import PERSON_CREATED
from rapport.hub.models import Company, Person, PersonEmail, PersonPhone, person_tags
from rapport.hub.schemas import PersonIn, PersonPatch
from rapport.hub.service import people
from rapport.hub.service.common import tags_by_name

CHUNK = 500


@dataclass
class ItemResult:
    index: int
    status: str  # created | updated | unchanged | error
    id: uuid.UUID | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BulkOutcome:
    results: list[ItemResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def bulk_upsert(ctx: Context, items: list[PersonIn | dict[str, Any]]) -> BulkOutcome:
    """Create or update people matched by any of their emails; never fails the whole batch."""
    ctx.require("people:write")
    results: list[ItemResult | None] = [None] * len(items)
    parsed: list[tuple[int, PersonIn, people._Clean]] = []
    for index, raw in enumerate(items):
        try:
            item = raw if isinstance(raw, PersonIn) else PersonIn.model_validate(raw)
        except ValidationError as exc:
            results[index] = ItemResult(index, "error", errors=_pydantic_errors(exc))
            continue
        clean = people._normalise(ctx, item.model_dump(), creating=True)
        if clean.errors:
            results[index] = ItemResult(index, "error", errors=[e.as_dict() for e in clean.errors])
            continue
        parsed.append((index, item, clean))

    owners = _existing_owners(ctx, [e for _, _, c in parsed for e, _ in c.emails or []])
    creates: list[tuple[int, people._Clean]] = []
    claimed: dict[str, int] = {}
    for index, item, clean in parsed:
        emails = [e for e, _ in clean.emails or []]
        repeated = next((e for e in emails if e in claimed), None)
        if repeated is not None:
            message = f"{repeated} already appears in item {claimed[repeated]} of this batch"
            results[index] = ItemResult(
                index, "error", errors=[FieldError(("email",), message, "duplicate").as_dict()]
            )
            continue
        claimed.update(dict.fromkeys(emails, index))
        matches = {owners[e] for e in emails if e in owners}
        if len(matches) > 1:
            message = "these emails belong to different people; merge them first"
            results[index] = ItemResult(
                index, "error", errors=[FieldError(("emails",), message, "ambiguous").as_dict()]
            )
        elif matches:
            results[index] = _update_existing(ctx, index, matches.pop(), item)
        else:
            creates.append((index, clean))
    for start in range(0, len(creates), CHUNK):
        for index, person_id in _insert_new(ctx, creates[start : start + CHUNK]):
            results[index] = ItemResult(index, "created", person_id)
    return BulkOutcome([r for r in results if r is not None])


def _pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        FieldError(tuple(e["loc"]) or ("item",), e["msg"], e["type"]).as_dict()
        for e in exc.errors()
    ]


def _existing_owners(ctx: Context, emails: list[str]) -> dict[str, uuid.UUID]:
    owners: dict[str, uuid.UUID] = {}
    unique = list(dict.fromkeys(emails))
    for start in range(0, len(unique), CHUNK):
        rows = ctx.session.execute(
            select(PersonEmail.email, PersonEmail.person_id).where(
                PersonEmail.email.in_(unique[start : start + CHUNK])
            )
        ).all()
        owners.update(dict(rows))
    return owners


def _update_existing(ctx: Context, index: int, person_id: uuid.UUID, item: PersonIn) -> ItemResult:
    sent = item.model_dump(exclude_unset=True)
    patch = PersonPatch.model_validate(sent)
    try:
        with ctx.session.begin_nested():
            before = people.get(ctx, person_id, include_deleted=True).version
            person = people.update(ctx, person_id, patch)
    except RapportError as exc:
        errors = [e.as_dict() for e in exc.errors] or [FieldError(("item",), exc.detail).as_dict()]
        return ItemResult(index, "error", person_id, errors)
    return ItemResult(index, "updated" if person.version != before else "unchanged", person_id)


def _insert_new(
    ctx: Context, batch: list[tuple[int, people._Clean]]
) -> list[tuple[int, uuid.UUID]]:
    if not batch:
        return []
    now = utcnow()
    ws = ctx.workspace_id
    person_rows, email_rows, phone_rows, tag_rows = [], [], [], []
    audit_items: list[tuple[uuid.UUID | None, Any, Any]] = []
    tag_names = sorted({t for _, c in batch for t in c.tags or []})
    tags = {t.name.lower(): t for t in tags_by_name(ctx, tag_names)} if tag_names else {}
    created: list[tuple[int, uuid.UUID]] = []
    docs_input: list[tuple[uuid.UUID, dict[str, Any], list[str], list[str]]] = []
    for index, clean in batch:
        person_id = new_id()
        values = dict(clean.values)
        emails = [e for e, _ in clean.emails or []]
        phones = [n for n, _ in clean.phones or []]
        values["full_name"] = " ".join(
            p for p in (values.get("first_name", ""), values.get("last_name", "")) if p
        )
        row = {
            "id": person_id,
            "workspace_id": ws,
            "first_name": "",
            "last_name": "",
            "addresses": [],
            "preferences": {},
            "custom": {},
            "lifecycle_stage": "lead",
            "consent_status": "unknown",
            **values,
            "email": emails[0] if emails else None,
            "phone": phones[0] if phones else None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        person_rows.append(row)
        for position, (email, label) in enumerate(clean.emails or []):
            email_rows.append(
                {"id": new_id(), "workspace_id": ws, "person_id": person_id, "email": email,
                 "label": label, "is_primary": position == 0, "position": position}
            )  # fmt: skip
        for position, (number, label) in enumerate(clean.phones or []):
            phone_rows.append(
                {"id": new_id(), "workspace_id": ws, "person_id": person_id, "number": number,
                 "label": label, "is_primary": position == 0, "position": position}
            )  # fmt: skip
        for name in {(t or "").strip().lower() for t in clean.tags or []} - {""}:
            tag_rows.append({"person_id": person_id, "tag_id": tags[name].id, "workspace_id": ws})
        changes = {
            k: (None, v) for k, v in row.items() if v not in (None, "", [], {}) and k in values
        }
        if emails:
            changes["emails"] = (None, emails)
        audit_items.append((person_id, changes, None))
        docs_input.append((person_id, row, emails, phones))
        created.append((index, person_id))
    session = ctx.session
    # Core INSERTs of plain rows: the ORM's per-object bookkeeping is the cost at this size.
    session.execute(insert(table_of(Person)), person_rows)
    if email_rows:
        session.execute(insert(table_of(PersonEmail)), email_rows)
    if phone_rows:
        session.execute(insert(table_of(PersonPhone)), phone_rows)
    if tag_rows:
        session.execute(insert(person_tags), tag_rows)
    record_many(
        ctx,
        PERSON_CREATED,
        [(pid, jsonable_changes, p) for pid, jsonable_changes, p in audit_items],
    )
    index_documents(session, ws, _documents(ctx, docs_input), fresh=True)
    return created


def _documents(
    ctx: Context, rows: list[tuple[uuid.UUID, dict[str, Any], list[str], list[str]]]
) -> list[Any]:
    company_ids = {r["company_id"] for _, r, _, _ in rows if r.get("company_id")}
    names: dict[uuid.UUID, str] = {}
    if company_ids:
        names = dict(
            ctx.session.execute(
                select(Company.id, Company.name).where(Company.id.in_(company_ids))
            ).all()
        )
    docs = []
    for person_id, row, emails, phones in rows:
        company = names.get(row["company_id"]) if row.get("company_id") else None
        docs.append(
            people.document_for(
                person_id,
                full_name=row["full_name"],
                job_title=row.get("job_title"),
                company_name=company,
                emails=emails,
                phones=phones,
            )
        )
    return docs
