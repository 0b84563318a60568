"""Merging two people into one, and undoing it exactly.

``merge`` folds person B into A: A's fields follow a survivorship rule (or a per-field choice);
B's emails, phones, tags and timeline move to A; B goes to the bin. The ``merges`` row keeps a
snapshot of A's old fields and of every link that moved, so ``undo`` puts both people back.
Other domains (deals, tickets) register a hook in ``MERGE_HOOKS`` that moves their links and
returns what it moved; ``UNDO_HOOKS`` gets that back to reverse it. Their hooks live in
``rapport.<domain>.service.merge_hooks``, imported before the first merge or undo in any
process (server, CLI, job worker), so no entry point can merge without them.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped, table_of
from rapport.core.errors import Conflict, NotFound, invalid
from rapport.core.events import jsonable, record
from rapport.core.search import index_documents, remove_documents
from rapport.hub.events import COMPANY_DELETED, COMPANY_RESTORED, PERSON_DELETED, PERSON_RESTORED
from rapport.hub.models import (
    Activity,
    Company,
    Person,
    PersonEmail,
    PersonPhone,
    company_tags,
    person_tags,
)
from rapport.hub.service import people
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
MergeHook = Callable[[Context, uuid.UUID, uuid.UUID], dict[str, Any]]
MERGE_HOOKS: dict[str, MergeHook] = {}
UNDO_HOOKS: dict[str, Callable[[Context, dict[str, Any]], None]] = {}


def load_hooks() -> list[str]:
    """Import every domain's ``service.merge_hooks`` module (they register themselves)."""
    import rapport

    found = []
    for info in pkgutil.iter_modules(rapport.__path__):
        if not info.ispkg:
            continue
        service = importlib.util.find_spec(f"rapport.{info.name}.service")
        if service is None or service.submodule_search_locations is None:
            continue  # no domain service package (or a single module)
        name = f"rapport.{info.name}.service.merge_hooks"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            found.append(name)
    return found


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
        "emails": [_link(e) for e in b.emails],
        "phones": [_link(p) for p in b.phones],
        "tags_of_merged": [str(t.id) for t in b.tags],
        "tags_added": [str(t.id) for t in b.tags if t.id not in {x.id for x in a.tags}],
        "activities": [
            str(i)
            for i in session.scalars(
                select(Activity.id)
                .where(Activity.person_id == b.id)
                .execution_options(include_deleted=True)
            )
        ],
    }
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
    _move_links(ctx, a, b, snapshot)
    load_hooks()
    snapshot["hooks"] = {name: hook(ctx, a.id, b.id) for name, hook in MERGE_HOOKS.items()}
    a.full_name = " ".join(p for p in (a.first_name, a.last_name) if p)
    a.email = a.email or (b.email if b.emails else None)
    a.phone = a.phone or (b.phone if b.phones else None)
    a.updated_at = utcnow()  # links moved: the survivor changed even if no field did
    b.deleted_at = utcnow()
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
    remove_documents(session, ws, [("person", b.id)])
    _reindex(ctx, [a.id])
    moved = {k: len(snapshot[k]) for k in ("emails", "phones", "tags_added", "activities")}
    record(ctx, PERSON_MERGED, a.id, changes, payload={"merged_id": b.id, "merge_id": row.id})
    record(ctx, PERSON_DELETED, b.id, {"deleted_at": (None, b.deleted_at)},
           payload={"merged_into": a.id, "merge_id": row.id})  # fmt: skip
    row.snapshot = {**snapshot, "moved": moved}
    return row


def _link(row: PersonEmail | PersonPhone) -> dict[str, Any]:
    return {"id": str(row.id), "is_primary": row.is_primary, "position": row.position}


def _move_links(ctx: Context, a: Person, b: Person, snapshot: dict[str, Any]) -> None:
    session, ws = ctx.session, ctx.workspace_id
    for model, mine, key in ((PersonEmail, a.emails, "emails"), (PersonPhone, a.phones, "phones")):
        table = table_of(model)
        for offset, link in enumerate(snapshot[key]):
            values: dict[str, Any] = {"person_id": a.id}
            if mine:  # the survivor keeps its primary; the merged person's come after
                values |= {"is_primary": False, "position": len(mine) + offset}
            session.execute(
                update(table).where(table.c.id == uuid.UUID(link["id"])).values(**values)
            )
    if snapshot["tags_added"]:
        session.execute(
            insert(person_tags),
            [{"person_id": a.id, "tag_id": uuid.UUID(t), "workspace_id": ws}
             for t in snapshot["tags_added"]],
        )  # fmt: skip
    session.execute(delete(person_tags).where(person_tags.c.person_id == b.id))
    activities = table_of(Activity)
    session.execute(
        update(activities)
        .where(activities.c.workspace_id == ws, activities.c.person_id == b.id)
        .values(person_id=a.id)
    )


def undo(ctx: Context, merge_id: uuid.UUID) -> Merge:
    """Put both people back as they were before the merge, with every moved link."""
    ctx.require("hygiene:merge")
    row = get_scoped(ctx.session, Merge, merge_id)
    if row is None:
        raise NotFound("No merge with this id")
    if row.undone_at is not None:
        raise Conflict("This merge was already undone")
    session, ws, snap = ctx.session, ctx.workspace_id, row.snapshot
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
    for model, key in ((PersonEmail, "emails"), (PersonPhone, "phones")):
        table = table_of(model)
        for link in snap[key]:
            session.execute(
                update(table)
                .where(table.c.id == uuid.UUID(link["id"]))
                .values(person_id=b.id, is_primary=link["is_primary"], position=link["position"])
            )
    added = [uuid.UUID(t) for t in snap["tags_added"]]
    if added:
        session.execute(
            delete(person_tags).where(
                person_tags.c.person_id == a.id, person_tags.c.tag_id.in_(added)
            )
        )
    if snap["tags_of_merged"]:
        session.execute(
            insert(person_tags),
            [{"person_id": b.id, "tag_id": uuid.UUID(t), "workspace_id": ws}
             for t in snap["tags_of_merged"]],
        )  # fmt: skip
    activities = table_of(Activity)
    if snap["activities"]:
        session.execute(
            update(activities)
            .where(activities.c.id.in_([uuid.UUID(i) for i in snap["activities"]]))
            .values(person_id=b.id)
        )
    load_hooks()
    for name, moved in snap.get("hooks", {}).items():
        UNDO_HOOKS[name](ctx, moved)
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


def _company_links(ctx: Context, company_id: uuid.UUID) -> dict[str, list[str]]:
    """The ids of everything pointing at a company: people, deals, activities, tags."""
    from rapport.sales.models import Deal

    session = ctx.session
    ids = {
        "people": select(Person.id).where(Person.company_id == company_id),
        "deals": select(Deal.id).where(Deal.company_id == company_id),
        "activities": select(Activity.id).where(Activity.company_id == company_id),
    }
    out = {
        name: [str(i) for i in session.scalars(stmt.execution_options(include_deleted=True))]
        for name, stmt in ids.items()
    }
    out["tags"] = [
        str(t) for t in session.scalars(
            select(company_tags.c.tag_id).where(company_tags.c.company_id == company_id)
        )
    ]  # fmt: skip
    return out


def _point(ctx: Context, model: Any, ids: list[str], company_id: uuid.UUID) -> None:
    if ids:
        table = table_of(model)
        ctx.session.execute(
            update(table)
            .where(table.c.id.in_([uuid.UUID(i) for i in ids]))
            .values(company_id=company_id)
        )


def merge_companies(ctx: Context, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> CompanyMerge:
    """Fold company ``merged_id`` into ``survivor_id``: its people, deals, activities and tags
    move over, the survivor's empty fields are filled from it, and it goes to the bin.
    Audited; :func:`undo_company_merge` puts everything back."""
    from rapport.hub.service import companies
    from rapport.sales.models import Deal

    ctx.require("hygiene:merge")
    if survivor_id == merged_id:
        raise invalid(("merged_id",), "a company cannot be merged into itself")
    a, b = companies.get(ctx, survivor_id), companies.get(ctx, merged_id)
    links = _company_links(ctx, b.id)
    mine = set(_company_links(ctx, a.id)["tags"])
    snapshot: dict[str, Any] = {
        "survivor": {f: jsonable(getattr(a, f)) for f in COMPANY_FIELDS},
        **links,
        "tags_added": [t for t in links["tags"] if t not in mine],
    }
    b.deleted_at = utcnow()
    ctx.session.flush()  # b's domain is free for the survivor from here
    changes = {}
    for field in COMPANY_FIELDS:
        if _empty(getattr(a, field)) and not _empty(getattr(b, field)):
            changes[field] = (getattr(a, field), getattr(b, field))
            setattr(a, field, getattr(b, field))
    _point(ctx, Person, links["people"], a.id)
    _point(ctx, Deal, links["deals"], a.id)
    _point(ctx, Activity, links["activities"], a.id)
    if snapshot["tags_added"]:
        session = ctx.session
        session.execute(insert(company_tags), [
            {"company_id": a.id, "tag_id": uuid.UUID(t), "workspace_id": ctx.workspace_id}
            for t in snapshot["tags_added"]
        ])  # fmt: skip
    ctx.session.execute(delete(company_tags).where(company_tags.c.company_id == b.id))
    a.updated_at = utcnow()
    row = CompanyMerge(workspace_id=ctx.workspace_id, survivor_id=a.id, merged_id=b.id,
                       snapshot=snapshot, actor_id=ctx.user_id)  # fmt: skip
    ctx.session.add(row)
    ctx.session.flush()
    pair = sorted([a.id, b.id], key=str)
    ctx.session.execute(
        update(CompanyDuplicate)
        .where(CompanyDuplicate.company_a == pair[0], CompanyDuplicate.company_b == pair[1])
        .values(status="merged", decided_by=ctx.user_id)
    )
    remove_documents(ctx.session, ctx.workspace_id, [("company", b.id)])
    index_documents(ctx.session, ctx.workspace_id, [companies.search_document(a)])
    moved = {k: len(snapshot[k]) for k in ("people", "deals", "activities", "tags_added")}
    record(ctx, COMPANY_MERGED, a.id, changes,
           payload={"merged_id": b.id, "merge_id": row.id, "moved": moved})  # fmt: skip
    record(ctx, COMPANY_DELETED, b.id, {"deleted_at": (None, b.deleted_at)},
           payload={"merged_into": a.id, "merge_id": row.id})  # fmt: skip
    return row


def undo_company_merge(ctx: Context, merge_id: uuid.UUID) -> CompanyMerge:
    """Put both companies back as they were, with every moved person, deal, activity, tag."""
    from rapport.hub.service import companies
    from rapport.sales.models import Deal

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
    _point(ctx, Person, snap["people"], b.id)
    _point(ctx, Deal, snap["deals"], b.id)
    _point(ctx, Activity, snap["activities"], b.id)
    added = [uuid.UUID(t) for t in snap["tags_added"]]
    if added:
        ctx.session.execute(delete(company_tags).where(
            company_tags.c.company_id == a.id, company_tags.c.tag_id.in_(added)))  # fmt: skip
    if snap["tags"]:
        ctx.session.execute(insert(company_tags), [
            {"company_id": b.id, "tag_id": uuid.UUID(t), "workspace_id": ctx.workspace_id}
            for t in snap["tags"]
        ])  # fmt: skip
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
