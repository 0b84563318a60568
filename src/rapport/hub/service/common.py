"""Pieces the hub services share: tags by name, owner checks."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm.attributes import set_committed_value

from rapport.accounts import service as accounts
from rapport.core.context import Context
from rapport.core.errors import FieldError
from rapport.hub.models import Company, Person, Tag, company_tags, person_tags


def tags_by_name(ctx: Context, names: list[str]) -> list[Tag]:
    """The tags with these names, creating the missing ones (names compared case-insensitively)."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join(name.split())
        if clean:
            wanted.setdefault(clean.lower(), clean)
    if not wanted:
        return []
    # Case-insensitive: "VIP" and "vip" are one tag.
    query = select(Tag).where(func.lower(Tag.name).in_(list(wanted)))
    existing = {t.name.lower(): t for t in ctx.session.scalars(query)}
    tags = []
    for key, name in wanted.items():
        tag = existing.get(key)
        if tag is None:
            tag = Tag(name=name, workspace_id=ctx.workspace_id)
            ctx.session.add(tag)
            existing[key] = tag
        tags.append(tag)
    ctx.session.flush()
    return tags


def set_tags(
    ctx: Context, record: Person | Company, tags: list[Tag]
) -> tuple[list[str], list[str]] | None:
    """Make ``tags`` the record's tags (link rows carry workspace_id, so they are written here,
    not by the ORM). Returns (old names, new names) if anything changed. The record must be
    flushed already."""
    table, column = (
        (person_tags, "person_id") if isinstance(record, Person) else (company_tags, "company_id")
    )
    old = {t.id: t for t in record.tags}
    new = {t.id: t for t in tags}
    if old.keys() == new.keys():
        return None
    gone = list(old.keys() - new.keys())
    if gone:
        ctx.session.execute(
            delete(table).where(table.c[column] == record.id, table.c.tag_id.in_(gone))
        )
    added = [
        {column: record.id, "tag_id": tag_id, "workspace_id": ctx.workspace_id}
        for tag_id in new.keys() - old.keys()
    ]
    if added:
        ctx.session.execute(insert(table), added)
    set_committed_value(record, "tags", sorted(tags, key=lambda t: t.name.lower()))
    return sorted(t.name for t in old.values()), sorted(t.name for t in new.values())


def check_owner(
    ctx: Context, owner_id: uuid.UUID | None, loc: tuple[str, ...] = ("owner_id",)
) -> list[FieldError]:
    """An owner must be an active member of this workspace (remembered for the context: a bulk
    write names the same few owners thousands of times). Updates leave out an owner that does
    not change (``without_unchanged``), so a record kept by a since-deactivated member can still be
    edited."""
    members = ctx.extra.setdefault("known_members", set())
    assert isinstance(members, set)
    if owner_id is None or owner_id in members:
        return []
    member = accounts.membership(ctx.session, ctx.workspace_id, owner_id)
    if member is None:
        return [FieldError(loc, "no member of this workspace has this id", "unknown-owner")]
    if member.deactivated_at is not None:
        message = "this member was deactivated; choose an active member"
        return [FieldError(loc, message, "inactive-owner")]
    members.add(owner_id)
    return []


def without_unchanged(values: dict[str, Any], record: Any, *names: str) -> dict[str, Any]:
    """``values`` without the fields among ``names`` that hold what ``record`` already has: a
    form sends every field back, and resending an owner is not assigning them again."""
    for name in names:
        if name in values and values[name] == getattr(record, name):
            del values[name]
    return values
