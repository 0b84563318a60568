"""Custom fields and tags in a people import.

Cleaning a record (in the import's worker process, without a database) only keeps the cells
of ``custom.<key>`` and ``tags`` columns (``CleanRow.extras``). The writer checks them here
against the workspace's definitions with the hub's rules (:func:`columns.custom_values`): a
bad cell rejects its row with line, column and reason; good ones become
``values["custom"]`` (typed) and ``values["tags"]``. A new person must have the required
custom fields (:func:`require`) and gets them right after the batch's bulk insert
(:func:`after_insert`); a matched one through the normal update path
(:func:`patch`: only the keys that differ and the tags not yet there, so a rerun changes
nothing).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, update

from rapport.core.context import Context, system_context
from rapport.core.db import table_of, transaction
from rapport.hub.models import Person, Tag, person_tags
from rapport.hub.public import fields, people_bulk
from rapport.hygiene.service import columns
from rapport.hygiene.service.cleaning import CleanRow, Problem

LOOKUP = 900  # keys per IN (...): under SQLite's old 999-parameter limit
Extras = tuple[dict[str, Any], list[str]]  # a person's custom values and tag names


def labels(ctx: Context) -> dict[str, str]:
    """``{key: label}`` of the workspace's person custom fields (mapping targets)."""
    return columns.labels(ctx, "person")


def workspace_labels(workspace_id: uuid.UUID) -> dict[str, str]:
    """:func:`labels` in a transaction of its own (the CLI's preview)."""
    with transaction(workspace_id) as session:
        return labels(system_context(session, workspace_id))


def check_row(ctx: Context, row: CleanRow) -> CleanRow | list[Problem]:
    """The row with its custom values typed and its tags split, or its problems."""
    if not row.extras:
        return row
    problems: list[Problem] = []
    cells = {t: text for t, (_, text) in row.extras.items() if t.startswith(columns.CUSTOM)}
    if "tags" in row.extras:
        column, text = row.extras["tags"]
        try:
            row.values["tags"] = columns.clean_tags(text)
        except ValueError as exc:
            problems.append(Problem(column, text, str(exc)))
    if cells:
        custom, bad = columns.custom_values(ctx, "person", cells)
        for target, reason in bad:
            column, text = row.extras.get(target, (target, ""))
            problems.append(Problem(column, text or None, reason))
        row.values["custom"] = custom
    return problems or row


def check(
    ctx: Context, rows: list[CleanRow], rejects: list[tuple[int, list[Problem]]]
) -> list[CleanRow]:
    """The rows whose custom and tag cells are good; the others join ``rejects``."""
    if not any(r.extras for r in rows):
        return rows
    good: list[CleanRow] = []
    for row in rows:
        outcome = check_row(ctx, row)
        if isinstance(outcome, CleanRow):
            good.append(outcome)
        else:
            rejects.append((row.line, outcome))
    return good


def require(
    ctx: Context,
    creates: list[CleanRow],
    rejects: list[tuple[int, list[Problem]]],
    mapping: dict[str, str],
) -> list[CleanRow]:
    """The new people that have every required custom field (the hub's rule when a person is
    created); the others join ``rejects``, naming the column of each missing field (or the
    field, when no column maps to it)."""
    required = [d for d in fields.definitions(ctx, "person").values() if d.required]
    if not required:
        return creates
    column_of = {t.removeprefix(columns.CUSTOM): c for c, t in mapping.items()
                 if t.startswith(columns.CUSTOM)}  # fmt: skip
    good: list[CleanRow] = []
    for row in creates:
        custom = row.values.get("custom") or {}
        missing = [d for d in required if custom.get(d.key) in (None, "", [])]
        if not missing:
            good.append(row)
            continue
        problems = [Problem(column_of.get(d.key, f"custom.{d.key}"), None,
                            f"{d.label} is required") for d in missing]  # fmt: skip
        rejects.append((row.line, problems))
    return good


def after_insert(ctx: Context, rows: list[CleanRow]) -> None:
    """Give people just inserted in bulk their custom values and tags (new tags created)."""
    custom = [
        {"pid": uuid.UUID(r.prepared[4]), "values": r.values["custom"]}
        for r in rows
        if r.values.get("custom") and r.prepared
    ]
    if custom:
        people = table_of(Person)
        ctx.session.execute(
            update(people)
            .where(people.c.id == bindparam("pid"))
            .values(custom=bindparam("values", type_=people.c.custom.type)),
            custom,
        )
    tagged = [(uuid.UUID(r.prepared[4]), r.values["tags"]) for r in rows
              if r.values.get("tags") and r.prepared]  # fmt: skip
    people_bulk.link_tags(ctx, tagged)


def existing(ctx: Context, updates: list[tuple[CleanRow, uuid.UUID]]) -> dict[uuid.UUID, Extras]:
    """The custom values and tag names of the matched people whose rows carry some."""
    ids = list({pid for row, pid in updates if "custom" in row.values or "tags" in row.values})
    out: dict[uuid.UUID, Extras] = {}
    for start in range(0, len(ids), LOOKUP):
        chunk = ids[start : start + LOOKUP]
        for pid, custom in ctx.session.execute(
            select(Person.id, Person.custom).where(Person.id.in_(chunk))
        ):
            out[pid] = (dict(custom or {}), [])
        names = (
            select(person_tags.c.person_id, Tag.name)
            .join(Tag, Tag.id == person_tags.c.tag_id)
            .where(person_tags.c.person_id.in_(chunk))
            .order_by(Tag.name)
        )
        for pid, name in ctx.session.execute(names):
            if pid in out:
                out[pid][1].append(name)
    return out


def patch(row: CleanRow, state: Extras | None) -> dict[str, Any]:
    """What a row changes of a matched person's custom values (the keys that differ) and
    tags (the existing ones plus those it adds); empty when nothing."""
    if state is None:
        return {}
    custom, tags = state
    out: dict[str, Any] = {}
    if "custom" in row.values:
        changed = {k: v for k, v in row.values["custom"].items() if custom.get(k) != v}
        if changed:
            out["custom"] = changed
    if "tags" in row.values:
        have = {t.lower() for t in tags}
        added = [t for t in row.values["tags"] if t.lower() not in have]
        if added:
            out["tags"] = tags + added
    return out
