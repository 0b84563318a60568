"""Names the pages show next to ids: a company's name, a member's name.

These are display look-ups with no rule in them, batched per page (one query for a page of
rows, never one per row). They belong in the hub and accounts services (``companies.names``,
``accounts.members``) once those exist; the pages only call these two functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from rapport.accounts.models import Membership, User
from rapport.core.context import Context
from rapport.hub.models import Company


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    name: str
    email: str


def company_names(ctx: Context, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names of these companies (those the workspace can see)."""
    wanted = {i for i in ids if i is not None}
    if not wanted or not ctx.can("companies:read"):
        return {}
    rows = ctx.session.execute(select(Company.id, Company.name).where(Company.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def members(ctx: Context) -> list[Member]:
    """Everyone in the workspace, by name: the choices for a record's owner."""
    rows = ctx.session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == ctx.workspace_id)
        .order_by(User.name, User.email)
    )
    return [Member(row.id, row.name or row.email, row.email) for row in rows]


def company_by_name(ctx: Context, name: str) -> uuid.UUID | None:
    """The live company with exactly this name (the first by id if several share it)."""
    return ctx.session.scalars(
        select(Company.id).where(Company.name == " ".join(name.split())).order_by(Company.id)
    ).first()


def company_names_starting(ctx: Context, prefix: str, limit: int = 12) -> list[str]:
    """Company names that start with ``prefix`` (case as typed, the name index's order)."""
    prefix = " ".join(prefix.split())
    if not prefix or not ctx.can("companies:read"):
        return []
    return list(
        ctx.session.scalars(
            select(Company.name)
            .where(Company.name >= prefix, Company.name < prefix + "\U0010ffff")
            .order_by(Company.name)
            .limit(limit)
        )
    )
