"""Teams: create, rename, and who is in each (a member is in at most one team).

Sales' routing rotates leads through a team and its ``/api/v1/teams`` routes call these
functions through ``rapport.accounts.public``; the settings pages call them directly."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from rapport.accounts.events import MEMBERSHIP_UPDATED, TEAM_CREATED, TEAM_RENAMED
from rapport.accounts.models import Membership, Team
from rapport.core.context import Context
from rapport.core.db import flush_unique, get_scoped
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound, invalid
from rapport.core.events import record

MAX_NAME = 200


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise invalid(("name",), "Give the team a name.")
    if len(cleaned) > MAX_NAME:
        raise invalid(("name",), f"A team name has at most {MAX_NAME} characters.")
    return cleaned


def _check_free(ctx: Context, name: str, team_id: uuid.UUID | None) -> None:
    query = select(Team.id).where(Team.name == name)
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if ctx.session.scalars(query).first() is not None:
        raise Conflict(f"A team named '{name}' already exists")


def list_teams(ctx: Context) -> list[tuple[Team, list[uuid.UUID]]]:
    """The workspace's teams with their members, by name (the caller checks the permission:
    sales lets every reader see them, the settings page is for admins)."""
    teams = list(ctx.session.scalars(select(Team).order_by(Team.name)))
    return [(team, team_members(ctx, team.id)) for team in teams]


def get_team(ctx: Context, team_id: uuid.UUID) -> Team:
    team = get_scoped(ctx.session, Team, team_id)
    if team is None:
        raise NotFound("No such team in this workspace")
    return team


def create_team(
    ctx: Context, name: str, member_ids: list[uuid.UUID] | None = None
) -> tuple[Team, list[uuid.UUID]]:
    """A new team; the members named move into it."""
    ctx.require("members:manage")
    name = _clean_name(name)
    _check_free(ctx, name, None)
    team = Team(workspace_id=ctx.workspace_id, name=name)
    ctx.session.add(team)

    def taken() -> Exception:
        return Conflict(f"A team named '{name}' already exists")

    flush_unique(ctx.session, taken)
    record(ctx, TEAM_CREATED, team.id, {"name": (None, team.name)})
    return team, set_team_members(ctx, team.id, member_ids or [])


def rename_team(ctx: Context, team_id: uuid.UUID, name: str) -> Team:
    """Give a team another name (unique in the workspace)."""
    ctx.require("members:manage")
    team = get_team(ctx, team_id)
    name = _clean_name(name)
    if name == team.name:
        return team
    _check_free(ctx, name, team.id)
    old = team.name
    team.name = name
    ctx.session.flush()
    record(ctx, TEAM_RENAMED, team.id, {"name": (old, name)})
    return team


def set_team_members(
    ctx: Context, team_id: uuid.UUID, member_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Make exactly these members the team (each leaves any other team)."""
    ctx.require("members:manage")
    get_team(ctx, team_id)
    memberships = list(ctx.session.scalars(select(Membership)))
    known = {m.user_id for m in memberships}
    errors = [
        FieldError(("member_ids", i), "no member of this workspace has this id", "unknown-owner")
        for i, user_id in enumerate(member_ids)
        if user_id not in known
    ]
    if errors:
        raise Invalid("; ".join(e.message for e in errors), errors=errors)
    wanted = set(member_ids)
    for membership in memberships:
        if membership.user_id in wanted and membership.team_id != team_id:
            record(ctx, MEMBERSHIP_UPDATED, membership.id,
                   {"team_id": (membership.team_id, team_id)})  # fmt: skip
            membership.team_id = team_id
        elif membership.user_id not in wanted and membership.team_id == team_id:
            record(ctx, MEMBERSHIP_UPDATED, membership.id, {"team_id": (team_id, None)})
            membership.team_id = None
    ctx.session.flush()
    return team_members(ctx, team_id)


def team_members(ctx: Context, team_id: uuid.UUID) -> list[uuid.UUID]:
    """The team's members in a stable order (when they joined the workspace)."""
    query = (
        select(Membership.user_id)
        .where(Membership.team_id == team_id)
        .order_by(Membership.created_at, Membership.user_id)
    )
    return list(ctx.session.scalars(query))
