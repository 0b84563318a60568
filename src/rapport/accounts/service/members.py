"""Members of a workspace: list, add (with a password or by an invite link), change a role,
deactivate and reactivate; and a user's own profile and password.

Deactivating is a state the credential checks read on every request
(``Membership.deactivated_at``, see ``member_role`` and ``authenticate_token``), so a
deactivated member's sessions and tokens stop at once on every worker. Changing a password
moves the user's session epoch (``User.password_changed_at``): every browser session signed
before it ends; the browser that made the change gets a fresh cookie.

An invite link is a signed, expiring token naming the user, the workspace and the user's
password epoch at the time; setting the password moves the epoch, so a link works once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.accounts.events import (
    MEMBER_ADDED,
    MEMBER_DEACTIVATED,
    MEMBER_INVITED,
    MEMBER_JOINED,
    MEMBER_REACTIVATED,
    MEMBER_UPDATED,
    PASSWORD_CHANGED,
    USER_UPDATED,
)
from rapport.accounts.models import Membership, Team, User, Workspace
from rapport.accounts.service import (
    MIN_PASSWORD,
    create_user,
    membership,
    normalise_login_email,
    session_epoch,
)
from rapport.core import security
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound, invalid
from rapport.core.events import record
from rapport.core.permissions import Role

INVITE_DAYS = 7
INVITE_SALT = "rapport-invite"
ROLE_LABELS = {
    Role.OWNER: "Owner",
    Role.ADMIN: "Admin",
    Role.MANAGER: "Manager",
    Role.MEMBER: "Member",
    Role.READ_ONLY: "Read-only",
}


@dataclass(frozen=True)
class MemberRow:
    """One member as the Members page and ``GET /members`` show them."""

    user_id: uuid.UUID
    name: str
    email: str
    role: str
    team_id: uuid.UUID | None
    team_name: str | None
    status: str  # active, invited (no password yet), deactivated
    last_login_at: datetime | None
    deactivated_at: datetime | None
    joined_at: datetime


def check_password(password: str, loc: str = "password") -> None:
    """The strength rule of the first-run setup: at least MIN_PASSWORD characters."""
    if len(password) < MIN_PASSWORD:
        raise invalid((loc,), f"Passwords need at least {MIN_PASSWORD} characters.")


def _row(m: Membership, user: User, team_name: str | None) -> MemberRow:
    if m.deactivated_at is not None:
        status = "deactivated"
    elif user.password_hash is None:
        status = "invited"
    else:
        status = "active"
    return MemberRow(
        user.id, user.name, user.email, m.role, m.team_id, team_name, status,
        user.last_login_at, m.deactivated_at, m.created_at,
    )  # fmt: skip


def list_members(ctx: Context) -> list[MemberRow]:
    """Every member of the workspace, active first, then by name."""
    ctx.require("members:manage")
    rows = ctx.session.execute(
        select(Membership, User, Team.name)
        .join(User, User.id == Membership.user_id)
        .outerjoin(Team, Team.id == Membership.team_id)
        .order_by(Membership.deactivated_at.is_not(None), func.lower(User.name), User.email)
    ).all()
    return [_row(m, u, t) for m, u, t in rows]


def get_member(ctx: Context, user_id: uuid.UUID) -> MemberRow:
    ctx.require("members:manage")
    found = ctx.session.execute(
        select(Membership, User, Team.name)
        .join(User, User.id == Membership.user_id)
        .outerjoin(Team, Team.id == Membership.team_id)
        .where(Membership.user_id == user_id)
    ).first()
    if found is None:
        raise NotFound("No such member in this workspace")
    return _row(*found)


def _membership(ctx: Context, user_id: uuid.UUID) -> Membership:
    found = membership(ctx.session, ctx.workspace_id, user_id)
    if found is None:
        raise NotFound("No such member in this workspace")
    return found


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise invalid(("role",), f"Choose one of the roles: {names}.") from None


def _may_grant(ctx: Context, role: Role) -> None:
    if role is Role.OWNER and ctx.role is not Role.OWNER:
        raise invalid(("role",), "Only an owner can make someone an owner.")


def _active_owners(ctx: Context) -> int:
    return int(
        ctx.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.role == Role.OWNER.value, Membership.deactivated_at.is_(None))
        )
        or 0
    )


def _name_of(ctx: Context, user_id: uuid.UUID) -> str:
    user = ctx.session.get(User, user_id)
    return (user.name or user.email) if user else "This member"


def add_member(ctx: Context, *, email: str, name: str, role: str, password: str) -> MemberRow:
    """Add a member who signs in with the password given (told to them by the admin)."""
    ctx.require("members:manage")
    chosen = _role(role)
    _may_grant(ctx, chosen)
    email = normalise_login_email(email)
    check_password(password)
    workspace = _workspace(ctx)
    user = create_user(
        ctx.session, workspace, email=email, password=password, name=name.strip(), role=chosen
    )
    record(ctx, MEMBER_ADDED, user.id, {"email": (None, email), "role": (None, chosen.value)})
    return get_member(ctx, user.id)


def _workspace(ctx: Context) -> Workspace:
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    if workspace is None:
        raise NotFound("No such workspace")
    return workspace


def invite(
    ctx: Context, *, email: str, name: str = "", role: str = "member"
) -> tuple[MemberRow, str | None]:
    """Add a member and return the token of their invite link (None when they already have
    a password from another workspace: they sign in with it)."""
    ctx.require("members:manage")
    chosen = _role(role)
    _may_grant(ctx, chosen)
    email = normalise_login_email(email)
    user = create_user(
        ctx.session, _workspace(ctx), email=email, password=None, name=name.strip(), role=chosen
    )
    record(ctx, MEMBER_INVITED, user.id, {"email": (None, email), "role": (None, chosen.value)})
    token = invite_token(user, ctx.workspace_id) if user.password_hash is None else None
    return get_member(ctx, user.id), token


def invite_token(user: User, workspace_id: uuid.UUID) -> str:
    """A signed link token for ``user`` to join ``workspace_id`` (works once, for a week)."""
    payload = {"u": str(user.id), "w": str(workspace_id), "e": session_epoch(user)}
    return security.signer(INVITE_SALT).dumps(payload)


@dataclass(frozen=True)
class Invitation:
    user: User
    workspace: Workspace


EXPIRED = "This invite link has expired or was already used; ask for a new one."


def open_invite(session: Session, token: str) -> Invitation:
    """The invitation a link token stands for; ``Invalid`` if it is forged, expired or used."""
    try:
        data: Any = security.signer(INVITE_SALT).loads(token, max_age=INVITE_DAYS * 86400)
        user_id, workspace_id = uuid.UUID(str(data["u"])), uuid.UUID(str(data["w"]))
        epoch = str(data["e"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise invalid(("token",), EXPIRED) from None
    user = session.get(User, user_id)
    workspace = session.get(Workspace, workspace_id)
    found = membership(session, workspace_id, user_id)
    if (
        user is None
        or workspace is None
        or found is None
        or found.deactivated_at is not None
        or session_epoch(user) != epoch
        or user.password_hash is not None
    ):
        raise invalid(("token",), EXPIRED)
    return Invitation(user, workspace)


def accept_invite(session: Session, token: str, *, name: str, password: str) -> Invitation:
    """The invitee sets their name and password; the link is spent."""
    invitation = open_invite(session, token)
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError(("name",), "Tell your colleagues your name."))
    if len(password) < MIN_PASSWORD:
        errors.append(
            FieldError(("password",), f"Passwords need at least {MIN_PASSWORD} characters.")
        )
    if errors:
        raise Invalid("; ".join(e.message for e in errors), errors=errors)
    user, workspace = invitation.user, invitation.workspace
    user.name = " ".join(name.split())[:200]
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.last_login_at = utcnow()
    session.flush()
    found = membership(session, workspace.id, user.id)
    assert found is not None
    session.info["workspace_id"] = workspace.id
    ctx = Context(session=session, workspace_id=workspace.id, user_id=user.id,
                  role=Role(found.role), actor_type="user")  # fmt: skip
    record(ctx, MEMBER_JOINED, user.id, {"name": (None, user.name)})
    return invitation


def change_role(ctx: Context, user_id: uuid.UUID, role: str) -> MemberRow:
    """Give a member another role; the last owner stays an owner, only owners make owners."""
    ctx.require("members:manage")
    chosen = _role(role)
    found = _membership(ctx, user_id)
    old = Role(found.role)
    if old is chosen:
        return get_member(ctx, user_id)
    _may_grant(ctx, chosen)
    if old is Role.OWNER:
        if ctx.role is not Role.OWNER:
            raise invalid(("role",), "Only an owner can change an owner's role.")
        if found.deactivated_at is None and _active_owners(ctx) <= 1:
            raise invalid(
                ("role",),
                f"{_name_of(ctx, user_id)} is the last owner of this workspace: make someone"
                " else an owner first.",
            )
    found.role = chosen.value
    ctx.session.flush()
    record(ctx, MEMBER_UPDATED, user_id, {"role": (old.value, chosen.value)})
    return get_member(ctx, user_id)


def deactivate(ctx: Context, user_id: uuid.UUID) -> MemberRow:
    """Stop the member's sessions and tokens at once; their records and history stay."""
    ctx.require("members:manage")
    found = _membership(ctx, user_id)
    if user_id == ctx.user_id:
        raise Conflict("You cannot deactivate yourself; ask another admin.")
    if found.deactivated_at is not None:
        return get_member(ctx, user_id)
    if found.role == Role.OWNER.value:
        if ctx.role is not Role.OWNER:
            raise Conflict("Only an owner can deactivate an owner.")
        if _active_owners(ctx) <= 1:
            raise Conflict("This is the last owner of the workspace; it stays active.")
    found.deactivated_at = utcnow()
    ctx.session.flush()
    record(ctx, MEMBER_DEACTIVATED, user_id, {"deactivated_at": (None, found.deactivated_at)})
    return get_member(ctx, user_id)


def reactivate(ctx: Context, user_id: uuid.UUID) -> MemberRow:
    """Let a deactivated member sign in again (their old sessions stay ended only if their
    cookies expired; tokens they had work again unless revoked)."""
    ctx.require("members:manage")
    found = _membership(ctx, user_id)
    if found.deactivated_at is None:
        return get_member(ctx, user_id)
    if found.role == Role.OWNER.value and ctx.role is not Role.OWNER:
        raise Conflict("Only an owner can reactivate an owner.")
    old = found.deactivated_at
    found.deactivated_at = None
    ctx.session.flush()
    record(ctx, MEMBER_REACTIVATED, user_id, {"deactivated_at": (old, None)})
    return get_member(ctx, user_id)


# --- your own profile ---------------------------------------------------------------------


def me(ctx: Context) -> User:
    if ctx.user_id is None:
        raise NotFound("No user")
    user = ctx.session.get(User, ctx.user_id)
    if user is None:
        raise NotFound("No user")
    return user


def update_profile(ctx: Context, *, name: str) -> User:
    """Change your display name."""
    user = me(ctx)
    cleaned = " ".join(name.split())
    if not cleaned:
        raise invalid(("name",), "Give a name your colleagues will recognise.")
    if len(cleaned) > 200:
        raise invalid(("name",), "A name has at most 200 characters.")
    if cleaned != user.name:
        record(ctx, USER_UPDATED, user.id, {"name": (user.name, cleaned)})
        user.name = cleaned
        ctx.session.flush()
    return user


def change_password(ctx: Context, *, current: str, new: str) -> str:
    """Change your password (the current one is required); returns the new session epoch.
    Every other browser session of yours ends."""
    user = me(ctx)
    if not security.verify_password(user.password_hash, current):
        raise invalid(("current_password",), "That is not your current password.")
    check_password(new, "new_password")
    if new == current:
        raise invalid(("new_password",), "Choose a password different from the current one.")
    _set_password(user, new)
    record(ctx, PASSWORD_CHANGED, user.id, {"password": ("(hidden)", "(changed)")})
    ctx.session.flush()
    return session_epoch(user)


def _set_password(user: User, password: str) -> None:
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()


def set_password(session: Session, email: str, password: str) -> User:
    """Operator action (``rapport user set-password``): no current password needed; every
    browser session of the user ends. Audited in each of the user's workspaces."""
    check_password(password)
    user = session.scalars(select(User).where(User.email == normalise_login_email(email))).first()
    if user is None:
        raise NotFound(f"No user {email}")
    _set_password(user, password)
    session.flush()
    for found in session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id)
        .execution_options(all_workspaces=True)
    ):
        session.info["workspace_id"] = found.workspace_id
        ctx = Context(session=session, workspace_id=found.workspace_id, user_id=None,
                      role=Role.OWNER, actor_type="system")  # fmt: skip
        record(ctx, PASSWORD_CHANGED, user.id, {"password": ("(hidden)", "(changed)")})
    return user
