"""Merging two people (or two companies) into one, and undoing it exactly.

``merge`` folds person B into A: A's fields follow a survivorship rule (or a per-field choice);
every row that points at B (emails, phones, tags, timeline, deals, tasks, whatever a domain
declares in its ``links.py``) moves to A through :mod:`rapport.core.links`, and B goes to the
bin. The ``merges`` row keeps a snapshot of A's old fields and the links' undo record, so
``undo`` puts both people back. Companies work the same way with their own links.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from rapport.core import links
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, NotFound, invalid
from rapport.core.events import jsonable, record
from rapport.core.ids import new_id
from rapport.core.records import bin_rows, record_type
from rapport.core.search import index_documents
from rapport.hub.events import COMPANY_RESTORED, PERSON_RESTORED
from rapport.hub.models import (
    Company,
    Person,
    PersonEmail,
    PersonPhone,
)
from rapport.hub.public import companies, people
from rapport.hygiene.events import (
    COMPANY_MERGE_UNDONE,
    COMPANY_MERGED,
    PERSON_MERGE_UNDONE,
    PERSON_MERGED,
)
from rapport.hygiene.models import CompanyDuplicate, CompanyMerge, DuplicateCandidate, Merge

SURVIVING = (
    "first_name", "last_name", "job_title", "company_id", "owner_id", "lifecycle_stage",
    "source", "external_id", "addresses", "custom",
)  # fmt: skip
_UUIDS = ("company_id", "owner_id")
CONSENT = ("consent_status", "consent_updated_at", "preferences")


def _consent(a: Person, b: Person) -> dict[str, Any]:
    """The survivor's consent and channel preferences: the later consent decision of the two
    (a decision beats none), and per channel an opt-out of either record holds (two records
    of one human: the safe reading), else an opt-in of either."""
    out: dict[str, Any] = {}
    later = b.consent_updated_at is not None and (
        a.consent_updated_at is None or _aware(b.consent_updated_at) > _aware(a.consent_updated_at)
    )
    undecided = a.consent_updated_at is None and a.consent_status == "unknown"
    if later or (undecided and b.consent_status != "unknown"):
        out["consent_status"] = b.consent_status
        out["consent_updated_at"] = b.consent_updated_at
    mine, theirs = dict(a.preferences or {}), dict(b.preferences or {})
    preferences = {}
    for channel in sorted(set(mine) | set(theirs)):
        both = {mine.get(channel), theirs.get(channel)}
        preferences[channel] = next(
            (p for p in ("opted_out", "opted_in") if p in both), mine.get(channel) or "unknown"
        )
    out["preferences"] = preferences
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _choose(field: str, a: Person, b: Person, rule: str, choices: dict[str, str]) -> Any:
    """The survivor's value for ``field`` under the per-field choice or the rule."""
    mine, theirs = getattr(a, field), getattr(b, field)
    choice = choices.get(field)
    if choice == "merged":
        return theirs
    if choice == "survivor" or rule == "survivor" or _empty(theirs):
        return mine
    if _empty(mine):
        return theirs  # most_complete and most_recent both fill the survivor's gaps
    if rule == "most_recent" and b.updated_at > a.updated_at:
        return theirs
    return mine


def merge(
    ctx: Context,
    survivor_id: uuid.UUID,
    merged_id: uuid.UUID,
    *,
    rule: str = "most_complete",
    choices: dict[str, str] | None = None,
) -> Merge:
    """Fold ``merged_id`` into ``survivor_id``; audited, and undoable with :func:`undo`."""
    ctx.require("hygiene:merge")
    if survivor_id == merged_id:
        raise invalid(("merged_id",), "a person cannot be merged into themselves")
    a, b = people.get(ctx, survivor_id), people.get(ctx, merged_id)
    choices = choices or {}
    unknown = set(choices) - set(SURVIVING)
    if unknown:
        raise invalid(("fields",), f"cannot choose {sorted(unknown)}; one of {list(SURVIVING)}")
    session, ws = ctx.session, ctx.workspace_id
    snapshot: dict[str, Any] = {
        "survivor": {f: jsonable(getattr(a, f)) for f in (*SURVIVING, *CONSENT, "email", "phone")},
    }
    had_email, had_phone = bool(b.emails), bool(b.phones)
    changes = {}
    for field in SURVIVING:
        value = _choose(field, a, b, rule, choices)
        if value != getattr(a, field):
            changes[field] = (getattr(a, field), value)
            setattr(a, field, value)
    for field, value in _consent(a, b).items():
        if value != getattr(a, field):
            changes[field] = (getattr(a, field), value)
            setattr(a, field, value)
    snapshot["links"] = links.repoint(ctx, "person", b.id, a.id)
    a.full_name = " ".join(p for p in (a.first_name, a.last_name) if p)
    a.email = a.email or (b.email if had_email else None)
    a.phone = a.phone or (b.phone if had_phone else None)
    a.updated_at = utcnow()  # links moved: the survivor changed even if no field did
    row = Merge(workspace_id=ws, survivor_id=a.id, merged_id=b.id, snapshot=snapshot)
    row.actor_id = ctx.user_id
    session.add(row)
    session.flush()
    pair = sorted([a.id, b.id], key=str)
    session.execute(
        update(DuplicateCandidate)
        .where(DuplicateCandidate.person_a == pair[0], DuplicateCandidate.person_b == pair[1])
        .values(status="merged", decided_by=ctx.user_id)
    )
    _reindex(ctx, [a.id])
    moved = links.moved_counts(snapshot["links"])
    record(ctx, PERSON_MERGED, a.id, changes, payload={"merged_id": b.id, "merge_id": row.id})
    # To the bin as any delete goes (event, search document); the merge checked who may.
    bin_rows(ctx, record_type("person"), [b], payload={"merged_into": a.id, "merge_id": row.id})
    row.snapshot = {**snapshot, "moved": moved}
    return row


def undo(ctx: Context, merge_id: uuid.UUID) -> Merge:
    """Put both people back as they were before the merge, with every moved link."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, Merge, merge_id)
    if row is None:
        raise NotFound("No merge with this id")
    if row.undone_at is not None:
        raise Conflict("This merge was already undone")
    session, snap = ctx.session, row.snapshot
    a = people.get(ctx, row.survivor_id)
    b = people.get(ctx, row.merged_id, include_deleted=True)
    changes = {}
    for field, old in snap["survivor"].items():
        value = uuid.UUID(old) if field in _UUIDS and old else old
        if field == "consent_updated_at" and old:
            value = datetime.fromisoformat(old)
        if getattr(a, field) != value:
            changes[field] = (getattr(a, field), value)
            setattr(a, field, value)
    a.full_name = " ".join(p for p in (a.first_name, a.last_name) if p)
    a.updated_at = utcnow()
    links.restore(ctx, snap["links"] if "links" in snap else _legacy_person_links(snap, a, b))
    b.deleted_at = None
    row.undone_at = utcnow()
    pair = sorted([a.id, b.id], key=str)
    session.execute(  # undone: the pair waits in the review queue again
        update(DuplicateCandidate)
        .where(DuplicateCandidate.person_a == pair[0], DuplicateCandidate.person_b == pair[1])
        .values(status="pending", decided_by=None)
    )
    session.flush()
    _reindex(ctx, [a.id, b.id])
    record(ctx, PERSON_MERGE_UNDONE, a.id, changes, payload={"merge_id": row.id, "restored": b.id})
    record(ctx, PERSON_RESTORED, b.id, payload={"merge_id": row.id})
    return row


def _moved(ids: list[str]) -> dict[str, list[Any]]:
    return {"moved": [[i] for i in ids], "dropped": []}


def _tags(snap: dict[str, Any], everyone: str, of: str, record: Any) -> dict[str, list[Any]]:
    """A tag link's undo record from an old snapshot: the tags added moved, the rest dropped."""
    added = snap["tags_added"]
    return {
        "moved": [[t] for t in added],
        "dropped": [{of: str(record.id), "tag_id": t, "workspace_id": str(record.workspace_id)}
                    for t in snap[everyone] if t not in added],
    }  # fmt: skip


def _legacy_person_links(snap: dict[str, Any], a: Person, b: Person) -> dict[str, Any]:
    """The undo record of a merge made before the links registry (its own snapshot keys)."""
    sales = snap.get("hooks", {}).get("sales", {})
    moved = {
        "emails": snap["emails"],
        "phones": snap["phones"],
        "tags": _tags(snap, "tags_of_merged", "person_id", b),
        "activities": _moved(snap["activities"]),
        **{key: _moved(sales[key]) for key in ("deals", "tasks") if key in sales},
    }
    return {"kind": "person", "from": str(b.id), "to": str(a.id), "links": moved}


def _reindex(ctx: Context, ids: list[uuid.UUID]) -> None:
    """Fresh search documents from the rows as they now are (links moved under the ORM)."""
    session = ctx.session
    session.flush()
    docs = []
    for pid in ids:
        person = session.get(Person, pid, execution_options={"include_deleted": True})
        assert person is not None
        emails = list(session.scalars(
            select(PersonEmail.email).where(PersonEmail.person_id == pid)
            .order_by(PersonEmail.position)
        ))  # fmt: skip
        phones = list(session.scalars(
            select(PersonPhone.number).where(PersonPhone.person_id == pid)
            .order_by(PersonPhone.position)
        ))  # fmt: skip
        company = session.get(Company, person.company_id) if person.company_id else None
        docs.append(
            people.document_for(
                pid, full_name=person.full_name, job_title=person.job_title,
                company_name=company.name if company else None, emails=emails, phones=phones,
            )
        )  # fmt: skip
    index_documents(session, ctx.workspace_id, docs)


# -- companies -------------------------------------------------------------------------------

COMPANY_FIELDS = ("name", "domain", "industry", "size", "website", "phone", "address",
                  "owner_id", "custom")  # fmt: skip


def merge_companies(ctx: Context, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> CompanyMerge:
    """Fold company ``merged_id`` into ``survivor_id``: its people, deals, activities and tags
    move over, the survivor's empty fields are filled from it, and it goes to the bin.
    Audited; :func:`undo_company_merge` puts everything back."""
    ctx.require("hygiene:merge")
    if survivor_id == merged_id:
        raise invalid(("merged_id",), "a company cannot be merged into itself")
    a, b = companies.get(ctx, survivor_id), companies.get(ctx, merged_id)
    snapshot: dict[str, Any] = {"survivor": {f: jsonable(getattr(a, f)) for f in COMPANY_FIELDS}}
    merge_id = new_id()  # the bin's event names the merge, written further down
    # To the bin as any delete goes (event, search document); the merge checked who may.
    # First: b's domain is free for the survivor from here.
    bin_rows(ctx, record_type("company"), [b], payload={"merged_into": a.id, "merge_id": merge_id})
    changes = {}
    for field in COMPANY_FIELDS:
        if _empty(getattr(a, field)) and not _empty(getattr(b, field)):
            changes[field] = (getattr(a, field), getattr(b, field))
            setattr(a, field, getattr(b, field))
    snapshot["links"] = links.repoint(ctx, "company", b.id, a.id)
    a.updated_at = utcnow()
    row = CompanyMerge(id=merge_id, workspace_id=ctx.workspace_id, survivor_id=a.id,
                       merged_id=b.id, snapshot=snapshot, actor_id=ctx.user_id)  # fmt: skip
    ctx.session.add(row)
    ctx.session.flush()
    pair = sorted([a.id, b.id], key=str)
    ctx.session.execute(
        update(CompanyDuplicate)
        .where(CompanyDuplicate.company_a == pair[0], CompanyDuplicate.company_b == pair[1])
        .values(status="merged", decided_by=ctx.user_id)
    )
    index_documents(ctx.session, ctx.workspace_id, [companies.search_document(a)])
    moved = links.moved_counts(snapshot["links"])
    record(ctx, COMPANY_MERGED, a.id, changes,
           payload={"merged_id": b.id, "merge_id": row.id, "moved": moved})  # fmt: skip
    return row


def undo_company_merge(ctx: Context, merge_id: uuid.UUID) -> CompanyMerge:
    """Put both companies back as they were, with every moved person, deal, activity, tag."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, CompanyMerge, merge_id)
    if row is None:
        raise NotFound("No company merge with this id")
    if row.undone_at is not None:
        raise Conflict("This merge was already undone")
    snap = row.snapshot
    a = companies.get(ctx, row.survivor_id)
    b = companies.get(ctx, row.merged_id, include_deleted=True)
    changes = {}
    for field, old in snap["survivor"].items():
        value = uuid.UUID(old) if field == "owner_id" and old else old
        if getattr(a, field) != value:
            changes[field] = (getattr(a, field), value)
            setattr(a, field, value)
    ctx.session.flush()  # the survivor gives b's domain back first
    b.deleted_at = None
    links.restore(ctx, snap["links"] if "links" in snap else _legacy_company_links(snap, a, b))
    a.updated_at = utcnow()
    row.undone_at = utcnow()
    pair = sorted([a.id, b.id], key=str)
    ctx.session.execute(  # undone: the pair waits in the review queue again
        update(CompanyDuplicate)
        .where(CompanyDuplicate.company_a == pair[0], CompanyDuplicate.company_b == pair[1])
        .values(status="pending", decided_by=None)
    )
    ctx.session.flush()
    index_documents(ctx.session, ctx.workspace_id,
                    [companies.search_document(a), companies.search_document(b)])  # fmt: skip
    record(ctx, COMPANY_MERGE_UNDONE, a.id, changes, payload={"merge_id": row.id})
    record(ctx, COMPANY_RESTORED, b.id, payload={"merge_id": row.id})
    return row


def _legacy_company_links(snap: dict[str, Any], a: Company, b: Company) -> dict[str, Any]:
    """The undo record of a company merge made before the links registry."""
    moved = {key: _moved(snap[key]) for key in ("people", "deals", "activities")}
    moved["tags"] = _tags(snap, "tags", "company_id", b)
    return {"kind": "company", "from": str(b.id), "to": str(a.id), "links": moved}
