"""Tags: the workspace's labels, and tagging many people or companies at once.

Tag names are unique per workspace regardless of case ("VIP" and "vip" are one tag). Bulk
tagging writes the link rows with multi-row statements, gives every record whose tags changed a
new version (so an ETag read before the change is refused) and audits each one as an update.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Table, exists, func, insert, select
from sqlalchemy.orm import InstrumentedAttribute

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import Conflict, FieldError, NotFound, invalid
from rapport.core.events import Changes, check_version, diff_fields, record, record_many
from rapport.core.pagination import Page, SortKey, keyset_page
from rapport.hub.events import TAG_CREATED, TAG_DELETED, TAG_UPDATED, UPDATED
from rapport.hub.models import Company, Person, Tag, company_tags, person_tags
from rapport.hub.schemas import TagIn, TagPatch
from rapport.hub.service.common import tags_by_name

RecordType = Literal["person", "company"]
MAX_RECORDS = 1000
_HEX = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})")
_NAMED = re.compile(r"[a-z]{3,20}")


class DuplicateTag(Conflict):
    code = "duplicate-tag"
    title = "Another tag in this workspace has this name"


@dataclass(frozen=True)
class _Target:
    model: type[Person] | type[Company]
    table: Table
    column: str
    noun: str
    permission: str


_TARGETS: dict[str, _Target] = {
    "person": _Target(Person, person_tags, "person_id", "person", "people:write"),
    "company": _Target(Company, company_tags, "company_id", "company", "companies:write"),
}


@dataclass
class TaggingOutcome:
    """What a bulk tagging did: the records whose tags changed and those already right."""

    changed: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


def list_tags(
    ctx: Context, *, limit: int = 100, cursor: str | None = None, prefix: str | None = None
) -> Page[Tag]:
    """A page of the workspace's tags by name, optionally those starting with ``prefix``."""
    ctx.require("tags:read")
    stmt = select(Tag)
    if prefix:
        stmt = stmt.where(Tag.name.istartswith(prefix.strip(), autoescape=True))
    sort = [SortKey("name", Tag.name)]
    return keyset_page(ctx.session, stmt, sort=sort, id_column=Tag.id, limit=limit, cursor=cursor)


def get(ctx: Context, tag_id: uuid.UUID) -> Tag:
    """One tag; NotFound outside the workspace."""
    ctx.require("tags:read")
    tag = get_scoped(ctx.session, Tag, tag_id)
    if tag is None:
        raise NotFound("No tag with this id")
    return tag


def create(ctx: Context, data: TagIn) -> Tag:
    """Create a tag; 409 if the workspace has one with this name in any case."""
    ctx.require("tags:write")
    name = _clean_name(data.name)
    _check_name_free(ctx, name, None)
    tag = Tag(workspace_id=ctx.workspace_id, name=name, color=_clean_color(data.color))
    ctx.session.add(tag)
    ctx.session.flush()
    record(ctx, TAG_CREATED, tag.id, {"name": (None, tag.name), "color": (None, tag.color)})
    return tag


def update(
    ctx: Context, tag_id: uuid.UUID, patch: TagPatch, *, expected_version: int | None = None
) -> Tag:
    """Rename or recolour a tag (null clears the colour); 409 if the new name is taken."""
    ctx.require("tags:write")
    tag = get(ctx, tag_id)
    check_version(tag.version, expected_version)
    sent = patch.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if "name" in sent:
        if sent["name"] is None:
            raise invalid(("name",), "a tag needs a name")
        values["name"] = _clean_name(sent["name"])
        _check_name_free(ctx, values["name"], tag.id)
    if "color" in sent:
        values["color"] = _clean_color(sent["color"])
    changes = diff_fields(tag, values)
    if changes:
        ctx.session.flush()
        record(ctx, TAG_UPDATED, tag.id, changes)
    return tag


def delete(ctx: Context, tag_id: uuid.UUID, *, expected_version: int | None = None) -> None:
    """Delete a tag and untag every record that carried it (tags have no bin)."""
    ctx.require("tags:delete")
    tag = get(ctx, tag_id)
    check_version(tag.version, expected_version)
    counts = {
        name: ctx.session.scalar(
            select(func.count()).select_from(table).where(table.c.tag_id == tag.id)
        )
        for name, table in (("people", person_tags), ("companies", company_tags))
    }
    name = tag.name
    ctx.session.delete(tag)  # the link rows go with it (ON DELETE CASCADE)
    ctx.session.flush()
    record(ctx, TAG_DELETED, tag_id, {"name": (name, None)}, payload={"untagged": counts})


def add_tags(
    ctx: Context,
    record_type: RecordType,
    ids: list[uuid.UUID],
    names: list[str],
    *,
    limit: int = MAX_RECORDS,
) -> TaggingOutcome:
    """Give every listed person or company these tags (created if new); audited per record."""
    target = _target(ctx, record_type)
    ids = _existing_ids(ctx, target, ids, limit)
    tags = tags_by_name(ctx, names)
    if not tags:
        raise invalid(("names",), "give at least one tag name")
    return _retag(ctx, target, ids, tags, adding=True)


def remove_tags(
    ctx: Context,
    record_type: RecordType,
    ids: list[uuid.UUID],
    names: list[str],
    *,
    limit: int = MAX_RECORDS,
) -> TaggingOutcome:
    """Take these tags off every listed person or company; unknown names are ignored."""
    target = _target(ctx, record_type)
    ids = _existing_ids(ctx, target, ids, limit)
    wanted = [" ".join(n.split()).lower() for n in names if n.strip()]
    if not wanted:
        raise invalid(("names",), "give at least one tag name")
    tags = list(ctx.session.scalars(select(Tag).where(func.lower(Tag.name).in_(wanted))))
    return _retag(ctx, target, ids, tags, adding=False)


def has_tag(
    table: Table, column: str, record_id: InstrumentedAttribute[uuid.UUID], op: str, value: Any
) -> ColumnElement[bool]:
    """A filter-language ``build`` for the ``tag`` field: the record carries the tag (eq, in;
    names compared case-insensitively), or, for is_null, carries none."""
    linked = select(table.c.tag_id).where(table.c[column] == record_id)
    if op == "is_null":
        return ~exists(linked)
    names = value if isinstance(value, list) else [value]
    named = linked.join(Tag, Tag.id == table.c.tag_id).where(
        func.lower(Tag.name).in_([" ".join(str(n).split()).lower() for n in names])
    )
    if op in ("eq", "in"):
        return exists(named)
    raise ValueError(f"tag filters do not take {op!r}")


# --- internals ------------------------------------------------------------------------------


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise invalid(("name",), "a tag needs a name")
    return name


def _clean_color(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    color = raw.strip().lower()
    if not (_HEX.fullmatch(color) or _NAMED.fullmatch(color)):
        raise invalid(("color",), f"{raw!r} is not a colour; use #rrggbb, #rgb or a colour name")
    return color


def _check_name_free(ctx: Context, name: str, tag_id: uuid.UUID | None) -> None:
    query = select(Tag.id).where(func.lower(Tag.name) == name.lower())
    if tag_id is not None:
        query = query.where(Tag.id != tag_id)
    other = ctx.session.scalars(query.limit(1)).first()
    if other is not None:
        raise DuplicateTag(
            f"The tag {name!r} already exists",
            errors=[FieldError(("name",), f"already used by tag {other}", "duplicate")],
        )


def _target(ctx: Context, record_type: str) -> _Target:
    target = _TARGETS.get(record_type)
    if target is None:
        raise invalid(("record_type",), "tag people ('person') or companies ('company')")
    ctx.require(target.permission)
    return target


def _existing_ids(
    ctx: Context, target: _Target, ids: list[uuid.UUID], limit: int = MAX_RECORDS
) -> list[uuid.UUID]:
    """The ids, deduplicated; any that is not a live record of this workspace is a 404 (the
    same answer for another workspace's record as for one that never existed)."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise invalid(("ids",), "give at least one id")
    if len(unique) > limit:
        raise invalid(("ids",), f"tag at most {limit} records at once")
    model = target.model
    found = set(ctx.session.scalars(select(model.id).where(model.id.in_(unique))))
    errors = [
        FieldError(("ids", ids.index(record_id)), f"no {target.noun} with this id", "not-found")
        for record_id in unique
        if record_id not in found
    ]
    if errors:
        raise NotFound(f"{len(errors)} of the ids name no {target.noun} here", errors=errors)
    return unique


def _retag(
    ctx: Context, target: _Target, ids: list[uuid.UUID], tags: list[Tag], *, adding: bool
) -> TaggingOutcome:
    table, column = target.table, target.column
    current: dict[uuid.UUID, dict[uuid.UUID, str]] = {record_id: {} for record_id in ids}
    rows = ctx.session.execute(
        select(table.c[column], Tag.id, Tag.name)
        .join(Tag, Tag.id == table.c.tag_id)
        .where(table.c[column].in_(ids))
    )
    for record_id, tag_id, name in rows:
        current[record_id][tag_id] = name
    outcome = TaggingOutcome(tags=tags)
    links: list[dict[str, Any]] = []
    audit: list[tuple[uuid.UUID | None, Changes | None, dict[str, Any] | None]] = []
    for record_id, held in current.items():
        if adding:
            todo = [t for t in tags if t.id not in held]
            new = {**held, **{t.id: t.name for t in todo}}
        else:
            todo = [t for t in tags if t.id in held]
            new = {k: v for k, v in held.items() if k not in {t.id for t in todo}}
        if not todo:
            outcome.unchanged.append(record_id)
            continue
        outcome.changed.append(record_id)
        links += [
            {column: record_id, "tag_id": t.id, "workspace_id": ctx.workspace_id} for t in todo
        ]
        audit.append((record_id, {"tags": (sorted(held.values()), sorted(new.values()))}, None))
    if not outcome.changed:
        return outcome
    if adding:
        ctx.session.execute(insert(table), links)
    else:
        ctx.session.execute(
            sa.delete(table).where(
                table.c[column].in_(outcome.changed), table.c.tag_id.in_([t.id for t in tags])
            )
        )
    model = target.model
    ctx.session.execute(
        sa.update(model)
        .where(model.id.in_(outcome.changed))
        .values(version=model.version + 1, updated_at=utcnow())
    )
    record_many(ctx, UPDATED[target.noun], audit)
    return outcome
