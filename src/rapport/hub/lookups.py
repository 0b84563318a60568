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
from rapport.core.search import search
from rapport.hub.models import Company, Person


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
    """Everyone in the workspace, by name: the choices for a record's owner. A deactivated
    member stays (records they own still name them) and says so; choosing them as a new
    owner is refused with that reason (``common.check_owner``)."""
    rows = ctx.session.execute(
        select(User.id, User.name, User.email, Membership.deactivated_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == ctx.workspace_id)
        .order_by(Membership.deactivated_at.is_not(None), User.name, User.email)
    )
    return [
        Member(
            row.id,
            (row.name or row.email) + (" (deactivated)" if row.deactivated_at else ""),
            row.email,
        )
        for row in rows
    ]


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


def person_label(name: str, email: str | None) -> str:
    """How the person picker names a person: "Name <email>" (the email tells namesakes apart)."""
    name = name or email or "Unnamed person"
    return f"{name} <{email}>" if email and email != name else name


def person_labels(ctx: Context, typed: str, limit: int = 10) -> list[str]:
    """The people that match what was typed (search: any part of a name or an email, typos
    forgiven), as the picker names them."""
    if len(typed.strip()) < 2 or not ctx.can("people:read"):
        return []
    hits = search(ctx.session, ctx.workspace_id, typed, types=["person"], limit=limit)
    if not hits:
        return []
    rows = ctx.session.execute(
        select(Person.id, Person.full_name, Person.email).where(
            Person.id.in_([h.record_id for h in hits])
        )
    )
    labels = {row.id: person_label(row.full_name, row.email) for row in rows}
    return [labels[h.record_id] for h in hits if h.record_id in labels]


def person_of(ctx: Context, person_id: uuid.UUID | None) -> str | None:
    """The picker's label of this person, if the member can see them."""
    if person_id is None or not ctx.can("people:read"):
        return None
    row = ctx.session.execute(
        select(Person.full_name, Person.email).where(Person.id == person_id)
    ).first()
    return person_label(row.full_name, row.email) if row else None


def person_by_label(ctx: Context, label: str) -> uuid.UUID | None:
    """The person a picker's text names: "Name <email>" by the email, else the one person with
    exactly this name or email; None when nobody (or more than one) matches."""
    label = " ".join(label.split())
    if not label:
        return None
    email = label.rsplit("<", 1)[1].rstrip(">").strip() if label.endswith(">") else ""
    if "<" not in label and "@" in label:
        email = label
    if email:
        query = select(Person.id).where(Person.email.in_({email, email.lower()}))
    else:
        query = select(Person.id).where(Person.full_name == label)
    found = list(ctx.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None
