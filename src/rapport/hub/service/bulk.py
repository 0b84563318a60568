"""Bulk upsert of people by email: the path integrations, lead intake, the demo and the
benchmark use (``POST /api/v1/people/bulk``).

New people go in through the hub's bulk create (:mod:`people_bulk`: multi-row INSERTs of
people, emails, phones, tags and search documents), each audited and announced
(``person.created``) with one multi-row INSERT of audit and outbox rows, so a batch of 1,000
costs a handful of statements, not thousands. People whose email already exists are updated
through the ordinary service, one by one. A bad item is reported with its index and reasons;
the rest of the batch still goes in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.errors import FieldError, RapportError
from rapport.core.events import Changes, record_many
from rapport.hub.events import PERSON_CREATED
from rapport.hub.models import PersonEmail
from rapport.hub.schemas import PersonIn, PersonPatch
from rapport.hub.service import people, people_bulk

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
        for result in _create(ctx, creates[start : start + CHUNK]):
            results[result.index] = result
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


def _create(ctx: Context, batch: list[tuple[int, people._Clean]]) -> list[ItemResult]:
    """New people through the hub's bulk create, each audited and announced."""
    created = people_bulk.create(ctx, [clean for _, clean in batch])
    record_many(
        ctx,
        PERSON_CREATED,
        [(pid, _changes(clean), None) for pid, (_, clean) in zip(created, batch, strict=True)],
    )
    return [
        ItemResult(index, "created", pid) for pid, (index, _) in zip(created, batch, strict=True)
    ]


def _changes(clean: people._Clean) -> Changes:
    """What a new person's audit entry and event name: the fields given, and the emails."""
    values = clean.values
    full_name = " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)
    changes: Changes = {
        k: (None, v)
        for k, v in {**values, "full_name": full_name}.items()
        if v not in (None, "", [], {})
    }
    emails = [e for e, _ in clean.emails or []]
    if emails:
        changes["emails"] = (None, emails)
    return changes
