"""Saved import mappings: a workspace names the header mapping of a file shape it imports
often (``{"E-Mail Adresse": "email", "Notizen": "ignore"}``) and reuses it by name."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from rapport.core.context import Context
from rapport.core.db import flush_unique, get_scoped
from rapport.core.errors import Conflict, NotFound, invalid
from rapport.core.events import Changes, record
from rapport.hygiene.events import (
    IMPORT_MAPPING_CREATED,
    IMPORT_MAPPING_DELETED,
    IMPORT_MAPPING_UPDATED,
)
from rapport.hygiene.models import ImportMapping
from rapport.hygiene.service.company_columns import FIELDS as COMPANY_FIELDS
from rapport.hygiene.service.sources import FIELDS

KNOWN = set(FIELDS) | set(COMPANY_FIELDS)  # a saved mapping may be for people or companies


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """``{column: field}`` with every field known (or ``ignore``); Invalid otherwise."""
    if not fields:
        raise invalid(("fields",), "a mapping needs at least one column")
    clean: dict[str, str] = {}
    for column, field in fields.items():
        name = (field or "ignore").strip()
        if not column.strip():
            raise invalid(("fields",), "a column name cannot be empty")
        if name not in KNOWN and name != "ignore" and not name.startswith("custom."):
            known = ", ".join(sorted(KNOWN))
            raise invalid(("fields", column), f"unknown field {name!r}; one of {known}")
        clean[column.strip()] = name
    return clean


def list_mappings(ctx: Context) -> list[ImportMapping]:
    """The workspace's saved mappings, by name."""
    ctx.require("hygiene:read")
    return list(ctx.session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def get(ctx: Context, mapping_id: uuid.UUID) -> ImportMapping:
    ctx.require("hygiene:read")
    found = get_scoped(ctx.session, ImportMapping, mapping_id)
    if found is None:
        raise NotFound("No saved mapping with this id")
    return found


def by_name(ctx: Context, name: str) -> ImportMapping:
    """A saved mapping by its name (what the CLI's ``--mapping NAME`` and the API send)."""
    ctx.require("hygiene:read")
    found = ctx.session.scalar(select(ImportMapping).where(ImportMapping.name == name.strip()))
    if found is None:
        raise invalid(("mapping",), f"no saved mapping named {name!r}")
    return found


def save(ctx: Context, name: str, fields: dict[str, str]) -> ImportMapping:
    """Create the mapping ``name``, or replace its fields if it exists (save-as from an import)."""
    ctx.require("hygiene:import")
    name = _name(name)
    fields = check_fields(fields)
    found = ctx.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if found is not None:
        return _set(ctx, found, name, fields)
    mapping = ImportMapping(workspace_id=ctx.workspace_id, name=name, fields=fields)
    ctx.session.add(mapping)
    flush_unique(ctx.session, lambda: Conflict(f"a mapping named {name!r} already exists"))
    record(ctx, IMPORT_MAPPING_CREATED, mapping.id, {"name": (None, name)})
    return mapping


def create(ctx: Context, name: str, fields: dict[str, str]) -> ImportMapping:
    """A new saved mapping; 409 if the name is taken."""
    ctx.require("hygiene:import")
    name = _name(name)
    if ctx.session.scalar(select(ImportMapping.id).where(ImportMapping.name == name)):
        raise Conflict(f"a mapping named {name!r} already exists")
    return save(ctx, name, fields)


def update(ctx: Context, mapping_id: uuid.UUID, name: str, fields: dict[str, str]) -> ImportMapping:
    """Rename a mapping and/or replace its fields."""
    ctx.require("hygiene:import")
    mapping = get(ctx, mapping_id)
    name = _name(name)
    taken = ctx.session.scalar(
        select(ImportMapping.id).where(ImportMapping.name == name, ImportMapping.id != mapping.id)
    )
    if taken:
        raise Conflict(f"a mapping named {name!r} already exists")
    return _set(ctx, mapping, name, check_fields(fields))


def delete(ctx: Context, mapping_id: uuid.UUID) -> None:
    ctx.require("hygiene:import")
    mapping = get(ctx, mapping_id)
    ctx.session.delete(mapping)
    record(ctx, IMPORT_MAPPING_DELETED, mapping.id, {"name": (mapping.name, None)})


def overrides(ctx: Context, name: str | None, explicit: dict[str, str]) -> dict[str, str]:
    """The overrides for an import: the saved mapping's (if named) under explicit ones."""
    saved: dict[str, Any] = dict(by_name(ctx, name).fields) if name else {}
    return {**saved, **explicit}


def _set(ctx: Context, mapping: ImportMapping, name: str, fields: dict[str, str]) -> ImportMapping:
    changes: Changes = {}
    if mapping.name != name:
        changes["name"] = (mapping.name, name)
    if mapping.fields != fields:
        changes["fields"] = (mapping.fields, fields)
    if changes:
        mapping.name, mapping.fields = name, fields
        flush_unique(ctx.session, lambda: Conflict(f"a mapping named {name!r} already exists"))
        record(ctx, IMPORT_MAPPING_UPDATED, mapping.id, changes)
    return mapping


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise invalid(("name",), "a mapping name has 1 to 100 characters")
    return name
