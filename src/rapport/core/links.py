"""Who points at a person or a company: one registry of links, read by merge and undo, the
timeline and staleness (and later by privacy export and erasure).

Each domain declares the columns of its tables that point at a person or a company in
``<domain>/links.py`` (``LINKS = (Link(...), ...)``) and hands them to its ``Domain`` record;
this module finds them through :mod:`rapport.core.registry`. So a new domain's table follows a
merge, comes back on undo and keeps a person active without hygiene or hub knowing it exists.

:func:`repoint` moves every linked row from one record to another and answers an undo record
(plain JSON, kept in the merge row); :func:`restore` reads it back and puts the rows where they
were. Writes go through Core tables (no ORM objects are loaded), scoped by the context's
workspace and including rows in the bin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)

from rapport.core.context import Context
from rapport.core.events import jsonable
from rapport.core.registry import domains

Kind = Literal["person", "company"]
KINDS: tuple[Kind, ...] = ("person", "company")


@dataclass(frozen=True)
class CustomMove:
    """A link whose rows need more than a new pointer on merge (an order to keep, a primary
    flag to give up). ``move`` answers plain JSON that ``restore`` gets back."""

    move: Callable[[Context, Link, uuid.UUID, uuid.UUID], Any]
    restore: Callable[[Context, Link, uuid.UUID, uuid.UUID, Any], None]


@dataclass(frozen=True)
class Link:
    """One column that points at a person or a company.

    ``column`` is a model attribute (``Deal.person_id``: reads through it get the workspace and
    bin criteria) or a Core column of an association table (``person_tags.c.person_id``).
    ``unique_with`` names the columns that, with the link, are unique: a row the target already
    has is dropped on merge (and put back by undo) instead of repointed; a table without an
    ``id`` column is told apart by them. ``keeps_active(cutoff)`` is the condition under which a
    row keeps its person or company active for staleness (None: it never does).
    """

    column: Any
    kind: Kind
    name: str = ""  # how undo records and merge counts call it; the table's name by default
    unique_with: tuple[str, ...] = ()
    custom: CustomMove | None = None
    keeps_active: Callable[[datetime], ColumnElement[bool]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a link points at one of {KINDS}, not {self.kind!r}")
        if "id" not in self.table.c and not self.unique_with and self.custom is None:
            raise ValueError(f"{self.key}: a table without an id needs unique_with")

    @property
    def core(self) -> Column[Any]:
        """The Core column (for writes, which skip the ORM)."""
        prop = getattr(self.column, "property", None)
        return prop.columns[0] if prop is not None else self.column

    @property
    def table(self) -> Table:
        return self.core.table

    @property
    def key(self) -> str:
        return self.name or self.table.name

    def identity(self) -> list[Column[Any]]:
        """The columns that tell this table's rows apart besides the link."""
        if "id" in self.table.c:
            return [self.table.c.id]
        return [self.table.c[name] for name in self.unique_with]


def links_to(kind: Kind) -> tuple[Link, ...]:
    """Every registered domain's links to ``kind``, in registry order (names are unique)."""
    found = tuple(
        link for d in domains() for link in d.links if isinstance(link, Link) and link.kind == kind
    )
    names = [link.key for link in found]
    if len(set(names)) != len(names):
        raise ValueError(f"two links to a {kind} share a name: {sorted(names)}")
    return found


def _scoped(ctx: Context, link: Link, record_id: uuid.UUID) -> list[ColumnElement[bool]]:
    criteria = [link.core == record_id]
    if "workspace_id" in link.table.c:
        criteria.append(link.table.c.workspace_id == ctx.workspace_id)
    return criteria


def pointing_at(ctx: Context, kind: Kind, record_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each link point at a record (the bin included): what an export of the
    record holds, or what erasing it touches."""
    counts = {}
    for link in links_to(kind):
        stmt = select(func.count()).select_from(link.table).where(*_scoped(ctx, link, record_id))
        counts[link.key] = ctx.session.scalar(stmt) or 0
    return counts


def repoint(ctx: Context, kind: Kind, from_id: uuid.UUID, to_id: uuid.UUID) -> dict[str, Any]:
    """Point every row linked to ``from_id`` at ``to_id``; answers the undo record."""
    moved = {}
    for link in links_to(kind):
        if link.custom is not None:
            moved[link.key] = link.custom.move(ctx, link, from_id, to_id)
        else:
            moved[link.key] = _repoint(ctx, link, from_id, to_id)
    return {"kind": kind, "from": str(from_id), "to": str(to_id), "links": moved}


def _repoint(
    ctx: Context, link: Link, from_id: uuid.UUID, to_id: uuid.UUID
) -> dict[str, list[Any]]:
    session, table, identity = ctx.session, link.table, link.identity()
    dropped: list[dict[str, Any]] = []
    if link.unique_with:
        unique = [table.c[name] for name in link.unique_with]
        theirs = set(session.execute(select(*unique).where(*_scoped(ctx, link, to_id))).all())
        for row in session.execute(select(table).where(*_scoped(ctx, link, from_id))).mappings():
            if tuple(row[c.name] for c in unique) in theirs:
                dropped.append(jsonable(dict(row)))
        if dropped:
            clashing = [tuple(_load(c, row[c.name]) for c in unique) for row in dropped]
            session.execute(
                delete(table).where(*_scoped(ctx, link, from_id), tuple_(*unique).in_(clashing))
            )
    ids = session.execute(select(*identity).where(*_scoped(ctx, link, from_id))).all()
    if ids:
        session.execute(
            update(table).where(*_scoped(ctx, link, from_id)).values({link.core.name: to_id})
        )
    return {"moved": [jsonable(list(row)) for row in ids], "dropped": dropped}


def restore(ctx: Context, undo: dict[str, Any]) -> None:
    """Put back what :func:`repoint` moved: the rows point at the old record again."""
    from_id, to_id = uuid.UUID(undo["from"]), uuid.UUID(undo["to"])
    by_key = {link.key: link for link in links_to(undo["kind"])}
    for key, moved in undo["links"].items():
        link = by_key[key]  # a link the merge moved is still declared (or undo cannot be whole)
        if link.custom is not None:
            link.custom.restore(ctx, link, from_id, to_id, moved)
        else:
            _restore(ctx, link, from_id, to_id, moved)


def _restore(
    ctx: Context, link: Link, from_id: uuid.UUID, to_id: uuid.UUID, moved: dict[str, Any]
) -> None:
    session, table, identity = ctx.session, link.table, link.identity()
    rows = [
        tuple(_load(c, v) for c, v in zip(identity, row, strict=True)) for row in moved["moved"]
    ]
    if rows:
        where: list[ColumnElement[bool]] = [tuple_(*identity).in_(rows)]
        if "id" not in table.c:  # told apart by unique_with: only the target's rows
            where += _scoped(ctx, link, to_id)
        session.execute(update(table).where(*where).values({link.core.name: from_id}))
    if moved["dropped"]:
        session.execute(
            insert(table),
            [
                {name: _load(table.c[name], v) for name, v in row.items()}
                for row in moved["dropped"]
            ],
        )


def _load(column: Column[Any], value: Any) -> Any:
    """A JSON value back to the column's Python type (ids and instants were stored as text)."""
    if not isinstance(value, str):
        return value
    try:
        wanted = column.type.python_type
    except NotImplementedError:
        return value
    if wanted is uuid.UUID:
        return uuid.UUID(value)
    if wanted is datetime:
        return datetime.fromisoformat(value)
    return value


def moved_counts(undo: dict[str, Any]) -> dict[str, int]:
    """How many rows of each link an undo record moved (dropped duplicates not counted)."""
    return {
        key: len(moved["moved"] if isinstance(moved, dict) and "moved" in moved else moved)
        for key, moved in undo["links"].items()
    }


def keeping_active(kind: Kind, cutoff: datetime) -> list[Select[Any]]:
    """For staleness: per link that can, the ids of ``kind`` a row keeps active at ``cutoff``."""
    return [
        select(link.column).where(link.keeps_active(cutoff), link.column.is_not(None))
        for link in links_to(kind)
        if link.keeps_active is not None
    ]


def owners(
    ctx: Context, table: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[Kind, uuid.UUID | None]]:
    """The live rows of ``table`` among ``ids`` (this workspace, not in the bin), each with the
    person and company it points at: how the timeline files an activity logged on a deal."""
    if not ids:
        return {}
    found = [link for kind in KINDS for link in links_to(kind) if link.table.name == table]
    if not found:
        return {}
    model = found[0].column.class_  # a record type: its links are model attributes
    rows = ctx.session.execute(
        select(model.id, *(link.column for link in found)).where(model.id.in_(ids))
    )
    return {row[0]: {link.kind: row[i + 1] for i, link in enumerate(found)} for row in rows}
