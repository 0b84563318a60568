"""When hygiene merges person B into A, B's deals and tasks follow to A (and back on undo).

Activities already move with the person (and keep their ``deal_id``), so a deal's timeline is
whole after a merge; this hook moves the deals' and tasks' own ``person_id`` links, which the
hygiene domain does not know about. Registered in ``MERGE_HOOKS`` / ``UNDO_HOOKS`` when
``merge.load_hooks`` imports it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.hygiene.service.merge import MERGE_HOOKS, UNDO_HOOKS
from rapport.sales.models import Deal, Task


def move_to_survivor(ctx: Context, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> dict[str, Any]:
    """Point B's deals and tasks at A; answers their ids for the undo."""
    moved: dict[str, Any] = {}
    for key, model in (("deals", Deal), ("tasks", Task)):
        ids = list(
            ctx.session.scalars(
                select(model.id)
                .where(model.person_id == merged_id)
                .execution_options(include_deleted=True)
            )
        )
        moved[key] = [str(i) for i in ids]
        if ids:
            table = table_of(model)
            ctx.session.execute(
                update(table)
                .where(table.c.workspace_id == ctx.workspace_id, table.c.id.in_(ids))
                .values(person_id=survivor_id)
            )
    moved["merged_id"] = str(merged_id)
    return moved


def move_back(ctx: Context, moved: dict[str, Any]) -> None:
    """Undo :func:`move_to_survivor`: the moved deals and tasks point at B again."""
    merged_id = uuid.UUID(moved["merged_id"])
    for key, model in (("deals", Deal), ("tasks", Task)):
        ids = [uuid.UUID(i) for i in moved.get(key, [])]
        if ids:
            table = table_of(model)
            ctx.session.execute(
                update(table)
                .where(table.c.workspace_id == ctx.workspace_id, table.c.id.in_(ids))
                .values(person_id=merged_id)
            )


MERGE_HOOKS["sales"] = move_to_survivor
UNDO_HOOKS["sales"] = move_back
