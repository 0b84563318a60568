"""The hub's rows that point at a person or a company (see rapport.core.links).

A merge moves them to the survivor and undo puts them back; an activity in the period keeps its
person active. Emails and phones keep an order and one primary each, so the survivor keeps its
own primary and the merged person's come after it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from rapport.core.context import Context
from rapport.core.links import CustomMove, Link
from rapport.hub.models import Activity, Person, PersonEmail, PersonPhone, company_tags, person_tags


def _after_survivors(ctx: Context, link: Link, from_id: uuid.UUID, to_id: uuid.UUID) -> Any:
    """Move the merged person's emails (or phones) after the survivor's, none of them primary
    when the survivor has any; answers each row's old primary flag and position."""
    table, session = link.table, ctx.session
    mine = session.scalar(
        select(func.count()).select_from(table).where(link.core == to_id)
    )  # fmt: skip
    rows = session.execute(
        select(table.c.id, table.c.is_primary, table.c.position)
        .where(link.core == from_id, table.c.workspace_id == ctx.workspace_id)
        .order_by(table.c.position)
    ).all()
    for offset, (row_id, _, _) in enumerate(rows):
        values: dict[str, Any] = {link.core.name: to_id}
        if mine:
            values |= {"is_primary": False, "position": mine + offset}
        session.execute(update(table).where(table.c.id == row_id).values(**values))
    return [{"id": str(i), "is_primary": primary, "position": pos} for i, primary, pos in rows]


def _back_in_order(
    ctx: Context, link: Link, from_id: uuid.UUID, _to_id: uuid.UUID, moved: Any
) -> None:
    table = link.table
    for row in moved:
        ctx.session.execute(
            update(table)
            .where(table.c.id == uuid.UUID(row["id"]))
            .values({link.core.name: from_id, "is_primary": row["is_primary"],
                     "position": row["position"]})
        )  # fmt: skip


ORDERED = CustomMove(move=_after_survivors, restore=_back_in_order)


def _recent_activity(cutoff: datetime) -> ColumnElement[bool]:
    return Activity.occurred_at >= cutoff


LINKS = (
    Link(PersonEmail.person_id, "person", name="emails", custom=ORDERED),
    Link(PersonPhone.person_id, "person", name="phones", custom=ORDERED),
    Link(person_tags.c.person_id, "person", name="tags", unique_with=("tag_id",)),
    Link(Activity.person_id, "person", name="activities", keeps_active=_recent_activity),
    Link(Person.company_id, "company", name="people"),
    Link(Activity.company_id, "company", name="activities"),
    Link(company_tags.c.company_id, "company", name="tags", unique_with=("tag_id",)),
)
