"""Record types: what the shared list, bin, saved views and export know of a kind of record.

A domain declares each user-facing record once (``<domain>/records.py``, registered through
``Domain.record_types``): its model, permissions, the sorts and filters its list offers, the
columns a list loads, whether search knows it, and what its bin does besides ``deleted_at``.
:mod:`rapport.core.listing` lists and exports any of them, :func:`move_to_bin` and
:func:`restore_from_bin` are the one soft delete and restore, and saved views ask
:func:`record_type` which permission reads a view's records. A new record type gets all of it by
declaring itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import SQLColumnExpression, select

from rapport.core import registry
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import WorkspaceScoped, get_scoped
from rapport.core.errors import NotFound
from rapport.core.events import check_version, record, record_many
from rapport.core.filtering import FieldSet
from rapport.core.search import remove_documents
from rapport.core.topics import Topic

M = TypeVar("M", bound=WorkspaceScoped)
Hook = Callable[[Context, M], None]


@dataclass(frozen=True, repr=False)
class RecordType(Generic[M]):
    """One kind of record (a person, a deal…) as the shared plumbing sees it.

    The model is workspace-scoped, versioned and soft-deletable. ``name`` is its saved views'
    object type, its search documents' record type and the "No <name> with this id" of a 404.
    """

    name: str
    plural: str  # "people": export files and routes, messages
    model: type[M]
    read: str  # the permissions that read, write, and bin or restore one
    write: str
    delete: str
    sorts: Mapping[str, SQLColumnExpression[Any]]  # each should be served by an index
    default_sort: str
    fields: FieldSet  # what a list, a saved view and an export filter on
    binned: Topic[Any]  # recorded when one goes to the bin, and when it comes back
    restored: Topic[Any]
    list_columns: Sequence[Any] = ()  # what a list loads (load_only); empty: every column
    searchable: bool = False  # a list's ?q= searches its documents; the bin removes them
    # The workspace's custom fields a filter may name ({key: type}); a callable, as core
    # cannot import the domain that keeps the definitions.
    custom_types: Callable[[Context], Mapping[str, str]] | None = None
    # The list page's query names → filter fields, so a saved view's query reads as a filter.
    page_filters: Mapping[str, str] = field(default_factory=dict)
    # What the generic export writes; empty: the type has an exporter of its own, or none.
    export_columns: Sequence[Any] = ()
    fetch_options: Sequence[Any] = ()  # loader options for the record the bin answers with
    guard: Hook[M] | None = None  # refuses an actor who may not bin or restore this one
    on_delete: Hook[M] | None = None  # more to change as it goes to the bin (before the flush)
    before_restore: Hook[M] | None = None  # refuses a restore (a conflict that arose meanwhile)
    reindex: Hook[M] | None = None  # writes its search document again once it is back

    def __repr__(self) -> str:
        return f"RecordType({self.name!r})"


def record_types() -> list[RecordType[Any]]:
    """Every registered record type, in registry order."""
    return [t for d in registry.domains() for t in d.record_types]


def record_type(name: str) -> RecordType[Any]:
    """The registered record type called ``name``; LookupError naming the known ones."""
    for candidate in record_types():
        if candidate.name == name:
            return candidate
    known = ", ".join(t.name for t in record_types())
    raise LookupError(f"no record type {name!r} is registered (known: {known})")


def _fetch(ctx: Context, kind: RecordType[M], record_id: uuid.UUID) -> M:
    """The record, binned or not, once the actor may read and bin it; NotFound otherwise."""
    ctx.require(kind.delete)
    ctx.require(kind.read)
    found = get_scoped(
        ctx.session, kind.model, record_id, include_deleted=True, options=kind.fetch_options
    )
    if found is None:
        raise NotFound(f"No {kind.name} with this id")
    if kind.guard is not None:
        kind.guard(ctx, found)  # before "already in the bin": who may see that it is
    return found


def move_to_bin(
    ctx: Context, kind: RecordType[M], record_id: uuid.UUID, *, expected_version: int | None = None
) -> M:
    """Soft delete: set ``deleted_at``, record the event, drop its search document. A record
    already in the bin answers 404 like a missing one; a stale If-Match 412."""
    found = _fetch(ctx, kind, record_id)
    row: Any = found  # soft-deletable and versioned, which the bound cannot also say
    if row.deleted_at is not None:
        raise NotFound(f"No {kind.name} with this id")
    check_version(row.version, expected_version)
    bin_rows(ctx, kind, [found])
    return found


BIN_CHUNK = 500  # ids per IN (...) when many go to the bin at once


def move_many_to_bin(ctx: Context, kind: RecordType[M], ids: Sequence[uuid.UUID]) -> list[M]:
    """Soft delete of many records (a bulk action): the checks of :func:`move_to_bin` for
    each (permission, guard, not in the bin already) and then :func:`bin_rows`; one record
    that fails refuses them all, before anything is written."""
    ctx.require(kind.delete)
    ctx.require(kind.read)
    model: Any = kind.model
    unique = list(dict.fromkeys(ids))
    found: dict[uuid.UUID, M] = {}
    for start in range(0, len(unique), BIN_CHUNK):
        chunk = unique[start : start + BIN_CHUNK]
        stmt = select(model).where(model.id.in_(chunk)).execution_options(include_deleted=True)
        for options in kind.fetch_options:
            stmt = stmt.options(options)
        found.update({row.id: row for row in ctx.session.scalars(stmt)})
    rows = [found[i] for i in unique if i in found]
    for row in rows:
        if kind.guard is not None:
            kind.guard(ctx, row)
    live = [row for row in rows if getattr(row, "deleted_at", None) is None]
    if len(live) < len(unique):
        raise NotFound(f"{len(unique) - len(live)} of them name no {kind.name} here")
    bin_rows(ctx, kind, live)
    return live


def bin_rows(
    ctx: Context,
    kind: RecordType[M],
    rows: Sequence[M],
    *,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """What every move to the bin does, once the caller has checked who may: set
    ``deleted_at``, run the type's ``on_delete``, record its ``binned`` event (with
    ``payload``: a merge says where the record went) and drop the search documents."""
    if not rows:
        return
    now = utcnow()
    for found in rows:
        row: Any = found
        row.deleted_at = now
        if kind.on_delete is not None:
            kind.on_delete(ctx, found)
    ctx.session.flush()
    record_many(ctx, kind.binned, [(r.id, {"deleted_at": (None, now)}, payload) for r in rows])
    if kind.searchable:
        remove_documents(ctx.session, ctx.workspace_id, [(kind.name, r.id) for r in rows])


def restore_from_bin(ctx: Context, kind: RecordType[M], record_id: uuid.UUID) -> M:
    """Bring a record back from the bin (one not in the bin is answered as it is)."""
    found = _fetch(ctx, kind, record_id)
    row: Any = found
    if row.deleted_at is None:
        return found
    if kind.before_restore is not None:
        kind.before_restore(ctx, found)
    old, row.deleted_at = row.deleted_at, None
    ctx.session.flush()
    record(ctx, kind.restored, found.id, {"deleted_at": (old, None)})
    if kind.reindex is not None:
        kind.reindex(ctx, found)
    return found
