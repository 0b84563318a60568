"""Workspaces, users, memberships and API tokens: creating them and resolving credentials."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from rapport.accounts.events import TOKEN_CREATED, TOKEN_REVOKED
from rapport.accounts.models import ApiToken, Membership, User, Workspace
from rapport.core import security
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import table_of, transaction
from rapport.core.errors import Conflict, Invalid, NotFound, Unauthorized, invalid
from rapport.core.events import record
from rapport.core.identity import Member, Principal
from rapport.core.permissions import Role, expand_scopes

MIN_PASSWORD = 10
log = logging.getLogger(__name__)


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "workspace"


def create_workspace(session: Session, name: str, *, slug: str | None = None) -> Workspace:
    """A new, empty workspace (operator action: no context yet)."""
    if not name.strip():
        raise invalid(("name",), "A workspace needs a name")
    slug = _slugify(slug or name)
    if session.scalars(select(Workspace).where(Workspace.slug == slug)).first():
        raise Conflict(f"A workspace with the slug {slug!r} already exists")
    workspace = Workspace(name=name.strip(), slug=slug)
    session.add(workspace)
    session.flush()
    return workspace


def get_workspace(session: Session, slug_or_id: str) -> Workspace:
    try:
        workspace = session.get(Workspace, uuid.UUID(slug_or_id))
    except ValueError:
        workspace = session.scalars(select(Workspace).where(Workspace.slug == slug_or_id)).first()
    if workspace is None:
        raise NotFound(f"No workspace {slug_or_id!r}")
    return workspace


def normalise_login_email(email: str) -> str:
    try:
        return validate_email(
            email.strip(),
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise invalid(("email",), str(exc)) from exc


def create_user(
    session: Session,
    workspace: Workspace,
    *,
    email: str,
    password: str | None,
    name: str = "",
    role: Role = Role.MEMBER,
) -> User:
    """A user with a role in ``workspace``; an existing user (same email) just joins it."""
    email = normalise_login_email(email)
    if password is not None and len(password) < MIN_PASSWORD:
        raise invalid(("password",), f"Passwords need at least {MIN_PASSWORD} characters")
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=name or email.split("@")[0])
        if password:
            user.password_hash = security.hash_password(password)
        session.add(user)
        session.flush()
    existing = session.scalars(
        select(Membership)
        .where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
        .execution_options(all_workspaces=True)
    ).first()
    if existing is not None:
        raise Conflict(f"{email} is already a member of {workspace.name}")
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=role.value))
    session.flush()
    return user


def membership(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    return session.scalars(
        select(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        .execution_options(all_workspaces=True)
    ).first()


def member_role(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """The user's role in the workspace, or None if they are no (active) member of it."""
    member = membership(session, workspace_id, user_id)
    if member is None or member.deactivated_at is not None:
        return None
    return Role(member.role)


def session_epoch(user: User) -> str:
    """The user's password epoch, carried by their session cookies (see ``web.session``):
    "0" until the password is first changed, then the instant of the last change."""
    changed = user.password_changed_at
    return "0" if changed is None else str(int(changed.timestamp() * 1_000_000))


def active_member(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Member | None:
    """The active user's membership of the workspace, as the web shell shows it."""
    role = member_role(session, workspace_id, user_id)
    user = session.get(User, user_id)
    workspace = session.get(Workspace, workspace_id)
    if role is None or user is None or not user.is_active or workspace is None:
        return None
    return Member(
        user.id, user.email, user.name, workspace.id, workspace.name, role, session_epoch(user)
    )


def workspace_id(slug: str) -> uuid.UUID:
    """The id of a workspace named by slug or id, in a transaction of its own (for the CLI)."""
    with transaction(unscoped=True) as session:
        return get_workspace(session, slug).id


def workspaces_of(session: Session, user_id: uuid.UUID) -> list[tuple[Workspace, str]]:
    """The workspaces a user belongs to, with their role in each."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id, Membership.deactivated_at.is_(None))
        .order_by(Workspace.name)
        .execution_options(all_workspaces=True)
    ).all()
    return [(w, r) for w, r in rows]


def authenticate_password(session: Session, email: str, password: str) -> User:
    """The user if the password matches; one vague error otherwise (no account probing)."""
    try:
        email = normalise_login_email(email)
    except Invalid:
        email = email.strip().lower()
    user = session.scalars(select(User).where(User.email == email)).first()
    if (
        user is None
        or not user.is_active
        or not security.verify_password(user.password_hash, password)
    ):
        raise Unauthorized("Wrong email or password")
    user.last_login_at = utcnow()
    return user


_tokens, _members = table_of(ApiToken), table_of(Membership)
# A bearer token is resolved on every API request, before its workspace is known: the one
# deliberate read across workspaces. One round trip: the token and its user's role in the
# token's workspace (outer join, so a token whose user has left the workspace is told apart
# from an unknown one). Built once and run as Core: no ORM compilation, criteria or identity
# map on every request.
_TOKEN_LOOKUP = (
    select(
        _tokens.c.id,
        _tokens.c.user_id,
        _tokens.c.workspace_id,
        _tokens.c.scopes,
        _tokens.c.expires_at,
        _tokens.c.last_used_at,
        _tokens.c.revoked_at,
        _members.c.role,
        _members.c.deactivated_at,
    )
    .outerjoin(
        _members,
        (_members.c.workspace_id == _tokens.c.workspace_id)
        & (_members.c.user_id == _tokens.c.user_id),
    )
    .where(_tokens.c.token_hash == bindparam("token_hash"))
)


def authenticate_token(session: Session, token: str) -> Principal:
    """Resolve a bearer token to its user, workspace, role and scopes."""
    found = (
        session.connection()
        .execute(_TOKEN_LOOKUP, {"token_hash": security.hash_token(token)})
        .first()
    )
    now = utcnow()
    if found is None or found.revoked_at is not None:
        raise Unauthorized("Invalid or revoked API token")
    row, role = found, found.role
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("This API token has expired")
    if role is None:
        raise Unauthorized("The token's user is no longer a member of this workspace")
    if row.deactivated_at is not None:
        raise Unauthorized("The token's user was deactivated in this workspace")
    stale_use = row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60
    return Principal(
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        role=Role(role),
        scopes=expand_scopes(row.scopes),
        actor_type="token",
        token_to_touch=row.id if stale_use else None,
    )


def touch_token(session: Session | None, token_id: uuid.UUID) -> None:
    """Note when a token was last used (at most once a minute). A writing request passes its
    own session; a reading one passes None and the update gets its own short transaction, so
    a read never holds SQLite's write lock (nor fails for want of it) just for this."""
    statement = (
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=utcnow())
        .execution_options(all_workspaces=True)
    )
    if session is not None:
        session.execute(statement)
        return
    try:
        with transaction(unscoped=True) as own:
            own.execute(statement)
    except OperationalError:
        log.warning("could not record token use (database busy); will try next minute")


def create_token(
    ctx: Context,
    *,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for the acting user (admins may mint one for another member)."""
    ctx.require("tokens:manage")
    owner_id = user_id or ctx.user_id
    if owner_id is None:
        raise invalid(("user_id",), "A token must belong to a user")
    if owner_id != ctx.user_id:
        ctx.require("members:manage")
    if membership(ctx.session, ctx.workspace_id, owner_id) is None:
        raise NotFound("No such member in this workspace")
    try:
        expand_scopes(scopes)
    except ValueError as exc:
        raise invalid(("scopes",), str(exc)) from exc
    if not scopes:
        raise invalid(("scopes",), "Give at least one scope, e.g. 'read' or '*'")
    secret, prefix, digest = security.new_token_secret()
    token = ApiToken(
        workspace_id=ctx.workspace_id,
        user_id=owner_id,
        name=name,
        prefix=prefix,
        token_hash=digest,
        scopes=scopes,
        expires_at=expires_at,
    )
    ctx.session.add(token)
    ctx.session.flush()
    record(ctx, TOKEN_CREATED, token.id, {"name": (None, name), "scopes": (None, scopes)})
    return token, secret


def list_tokens(ctx: Context) -> list[ApiToken]:
    """The acting user's tokens (all members' tokens for those who manage members)."""
    ctx.require("tokens:manage")
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if not ctx.can("members:manage"):
        query = query.where(ApiToken.user_id == ctx.user_id)
    return list(ctx.session.scalars(query))


def revoke_token(ctx: Context, token_id: uuid.UUID) -> ApiToken:
    """Revoke a token at once; it can never be used again."""
    ctx.require("tokens:manage")
    token = ctx.session.get(ApiToken, token_id)
    if token is None or (token.user_id != ctx.user_id and not ctx.can("members:manage")):
        raise NotFound("No such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(ctx, TOKEN_REVOKED, token.id, {"revoked_at": (None, token.revoked_at)})
    return token
