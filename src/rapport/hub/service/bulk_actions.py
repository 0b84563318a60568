"""Bulk actions on a selection of people or companies: tag, untag, assign an owner, delete
(to the bin) and restore (the Undo of a bulk delete).

One call acts on up to ``MAX_RECORDS`` listed records of one type (``MAX_MATCHING`` when the
list page selects all the records its filter keeps). The permission is checked first;
then every id must name a record of this workspace, or nothing is written and the answer is
404 (another workspace's record looks exactly like one that never existed). Each record that
really changes gets a new version, one audit row and one outbox event, written with multi-row
statements so a full selection costs a handful of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import select

from rapport.core import listing
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import FieldError, NotFound, invalid
from rapport.core.events import AuditEntry, Changes, record_many
from rapport.core.records import move_many_to_bin
from rapport.core.records import record_type as kind_of
from rapport.hub.events import PERSON_RESTORED, UPDATED
from rapport.hub.models import Company, Person
from rapport.hub.service import companies, people, tags
from rapport.hub.service.common import check_owner

RecordType = Literal["person", "company"]
Action = Literal["tag", "untag", "assign", "delete", "restore"]
ACTIONS: tuple[str, ...] = ("tag", "untag", "assign", "delete", "restore")
MAX_RECORDS = 1000  # ids a caller lists
MAX_MATCHING = listing.MAX_MATCHING  # records "all matching" a list's filter may change
UNDO_WINDOW = timedelta(days=1)

_MODELS: dict[str, type[Person] | type[Company]] = {"person": Person, "company": Company}
_OBJECTS = {"person": "people", "company": "companies"}


@dataclass
class BulkResult:
    """What a bulk action did: the records it changed and those that were already so."""

    action: str
    changed: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)


def permission_for(record_type: str, action: str) -> str:
    """Deleting and restoring need ``<object>:delete``; the rest ``<object>:write``."""
    verb = "delete" if action in ("delete", "restore") else "write"
    return f"{_OBJECTS[record_type]}:{verb}"


def run(
    ctx: Context,
    record_type: RecordType,
    action: Action,
    ids: list[uuid.UUID],
    *,
    tag_names: list[str] | None = None,
    owner_id: uuid.UUID | None = None,
    limit: int = MAX_RECORDS,
) -> BulkResult:
    """Apply ``action`` to every listed record (at most ``limit``), all or nothing."""
    if record_type not in _MODELS:
        raise invalid(("record_type",), "act on people ('person') or companies ('company')")
    if action not in ACTIONS:
        raise invalid(("action",), f"the action must be one of {', '.join(ACTIONS)}")
    ctx.require(permission_for(record_type, action))
    unique = _checked_ids(ctx, record_type, ids, include_deleted=action == "restore", limit=limit)
    if action in ("tag", "untag"):
        names = [n for n in tag_names or [] if n.strip()]
        if not names:
            raise invalid(("tags",), "give at least one tag name")
        act = tags.add_tags if action == "tag" else tags.remove_tags
        outcome = act(ctx, record_type, unique, names, limit=limit)
        return BulkResult(action, outcome.changed, outcome.unchanged)
    if action == "assign":
        return _assign(ctx, record_type, unique, owner_id)
    if action == "delete":
        return _delete(ctx, record_type, unique)
    return _restore(ctx, record_type, unique)


def _checked_ids(
    ctx: Context,
    record_type: str,
    ids: list[uuid.UUID],
    *,
    include_deleted: bool,
    limit: int = MAX_RECORDS,
) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise invalid(("ids",), "select at least one record")
    if len(unique) > limit:
        raise invalid(
            ("ids",),
            f"at most {limit:,} records at once; you sent {len(unique):,}",
            "too-many",
        )
    model = _MODELS[record_type]
    found = set(
        ctx.session.scalars(
            select(model.id)
            .where(model.id.in_(unique))
            .execution_options(include_deleted=include_deleted)
        )
    )
    noun = "person" if record_type == "person" else "company"
    errors = [
        FieldError(("ids", ids.index(record_id)), f"no {noun} with this id", "not-found")
        for record_id in unique
        if record_id not in found
    ]
    if errors:
        raise NotFound(f"{len(errors)} of the ids name no {noun} here", errors=errors)
    return unique


def _assign(
    ctx: Context, record_type: str, ids: list[uuid.UUID], owner_id: uuid.UUID | None
) -> BulkResult:
    if errors := check_owner(ctx, owner_id):
        raise invalid(("owner_id",), errors[0].message, "unknown-owner")
    model = _MODELS[record_type]
    rows = ctx.session.execute(select(model.id, model.owner_id).where(model.id.in_(ids))).all()
    result = BulkResult("assign")
    audit: list[tuple[uuid.UUID | None, Changes | None, dict[str, Any] | None]] = []
    for record_id, old in rows:
        if old == owner_id:
            result.unchanged.append(record_id)
        else:
            result.changed.append(record_id)
            audit.append((record_id, {"owner_id": (old, owner_id)}, None))
    if result.changed:
        ctx.session.execute(
            sa.update(model)
            .where(model.id.in_(result.changed))
            .values(owner_id=owner_id, version=model.version + 1, updated_at=utcnow())
        )
        record_many(ctx, UPDATED[record_type], audit)
    return result


def _delete(ctx: Context, record_type: str, ids: list[uuid.UUID]) -> BulkResult:
    """To the bin through the one soft delete (``core.records``), as a single delete goes."""
    binned = move_many_to_bin(ctx, kind_of(record_type), ids)
    return BulkResult("delete", changed=[row.id for row in binned])


def _restore(ctx: Context, record_type: str, ids: list[uuid.UUID]) -> BulkResult:
    """Companies go back one by one (each checks that no live company took its domain);
    people in one statement, then their search documents are rewritten."""
    model = _MODELS[record_type]
    rows = ctx.session.execute(
        select(model.id, model.deleted_at)
        .where(model.id.in_(ids))
        .execution_options(include_deleted=True)
    ).all()
    result = BulkResult("restore")
    binned = {record_id: when for record_id, when in rows if when is not None}
    result.unchanged = [i for i in ids if i not in binned]
    if not binned:
        return result
    if record_type == "company":
        for company_id in binned:
            companies.restore(ctx, company_id)
        result.changed = list(binned)
        return result
    ctx.session.execute(
        sa.update(Person)
        .where(Person.id.in_(list(binned)))
        .values(deleted_at=None, version=Person.version + 1, updated_at=utcnow())
        .execution_options(include_deleted=True, synchronize_session="fetch")
    )
    record_many(
        ctx,
        PERSON_RESTORED,
        [(i, {"deleted_at": (when, None)}, None) for i, when in binned.items()],
    )
    restored = list(
        ctx.session.scalars(select(Person).where(Person.id.in_(list(binned))).options(*people.FULL))
    )
    people.reindex(ctx, *restored)
    result.changed = list(binned)
    return result


def undo_delete(ctx: Context, record_type: RecordType, batch: str) -> BulkResult:
    """Restore what the acting user deleted in one bulk delete (the Undo of its toast).

    The batch is the ``request_id`` the delete was audited under; only the same user's
    deletions of the last day count, so an undo link cannot restore someone else's work."""
    if record_type not in _MODELS:
        raise invalid(("record_type",), "act on people ('person') or companies ('company')")
    ctx.require(permission_for(record_type, "restore"))
    since = utcnow() - UNDO_WINDOW
    ids = list(
        ctx.session.scalars(
            select(AuditEntry.record_id).where(
                AuditEntry.occurred_at >= since,
                AuditEntry.action == f"{record_type}.deleted",
                AuditEntry.request_id == batch,
                AuditEntry.actor_id == ctx.user_id,
            )
        )
    )
    found = [i for i in dict.fromkeys(ids) if i is not None]
    if not found:
        raise NotFound("There is nothing to undo: the deletion is too old or not yours")
    return run(ctx, record_type, "restore", found, limit=MAX_MATCHING)
