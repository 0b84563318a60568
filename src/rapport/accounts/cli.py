"""``rapport user …`` and ``rapport token …``: operator commands for accounts.

``token create`` prints only the secret on stdout, so ``TOKEN=$(rapport token create …)``
captures the token and nothing else; everything else goes to stderr."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.accounts import service
from rapport.accounts.models import ApiToken, User, Workspace
from rapport.accounts.service import members
from rapport.core.cli_output import JSON_OPTION, emit_json, emit_plain, note, out
from rapport.core.clock import utcnow
from rapport.core.context import Context, system_context
from rapport.core.db import transaction
from rapport.core.errors import Conflict, NotFound
from rapport.core.permissions import Role

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


@user_app.command("create")
def create_user(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    role: Role = typer.Option(Role.MEMBER, "--role", "-r"),
    name: str = typer.Option("", "--name"),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="RAPPORT_USER_PASSWORD",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a user with a role in a workspace (or add an existing user to it)."""
    with transaction(unscoped=True) as session:
        ws = service.get_workspace(session, workspace)
        user = service.create_user(
            session, ws, email=email, password=password, name=name, role=role
        )
        made = {"id": user.id, "email": user.email, "role": role.value, "workspace": ws.slug}
        ws_name = ws.name
    if as_json:
        emit_json(made)
    else:
        out.print(f"[green]✓[/green] {made['email']} is now {role.value} of {ws_name}")


@token_app.command("create")
def create_token(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w"),
    name: str = typer.Option("cli", "--name"),
    scopes: str = typer.Option("*", "--scopes", help="Comma-separated, e.g. 'read' or '*'"),
    days: int = typer.Option(0, "--days", help="Expire after N days (0: never)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mint an API token for a member and print its secret once (alone on stdout)."""
    with transaction(unscoped=True) as session:
        ws = service.get_workspace(session, workspace)
        user = session.scalars(select(User).where(User.email == email.lower())).first()
        member = service.membership(session, ws.id, user.id) if user else None
        if user is None or member is None:
            raise NotFound(f"{email} is not a member of {ws.slug}")
        session.info["workspace_id"] = ws.id
        ctx = Context(session=session, workspace_id=ws.id, user_id=user.id, role=Role(member.role))
        expires = utcnow() + timedelta(days=days) if days else None
        token, secret = service.create_token(
            ctx, name=name, scopes=scopes.split(","), expires_at=expires
        )
        session.flush()
        made = {
            "id": token.id,
            "token": secret,
            "name": token.name,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
            "email": user.email,
            "workspace": ws.slug,
        }
    if as_json:
        emit_json(made)
        return
    note(f"[green]✓[/green] token {made['id']} for {made['email']} in {ws.slug} (shown once):")
    emit_plain(secret)


def _system(session: Session, slug: str) -> tuple[Context, Workspace]:
    """An operator's context in the workspace (acts as an owner; audited as the system)."""
    ws = service.get_workspace(session, slug)
    session.info["workspace_id"] = ws.id
    return system_context(session, ws.id), ws


def _user_id(session: Session, email: str) -> uuid.UUID:
    user = session.scalars(
        select(User).where(User.email == service.normalise_login_email(email))
    ).first()
    if user is None:
        raise NotFound(f"No user {email}")
    return user.id


def _member_json(row: members.MemberRow, workspace: str) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "email": row.email,
        "name": row.name,
        "workspace": workspace,
        "role": row.role,
        "team": row.team_name,
        "status": row.status,
        "last_login_at": row.last_login_at,
    }


@user_app.command("list")
def list_users(
    workspace: str | None = typer.Option(
        None, "--workspace", "-w", help="Only this workspace (slug or id); all by default"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the members of one workspace, or of every workspace."""
    found: list[dict[str, Any]] = []
    with transaction(unscoped=True) as session:
        if workspace:
            slugs = [service.get_workspace(session, workspace).slug]
        else:
            slugs = list(session.scalars(select(Workspace.slug).order_by(Workspace.slug)))
        for slug in slugs:
            ctx, _ws = _system(session, slug)
            found += [_member_json(row, slug) for row in members.list_members(ctx)]
    if as_json:
        emit_json(found)
        return
    table = Table("email", "name", "workspace", "role", "team", "status", "last sign-in")
    for m in found:
        last = m["last_login_at"].strftime("%Y-%m-%d %H:%M") if m["last_login_at"] else "—"
        table.add_row(m["email"], m["name"], m["workspace"], m["role"], m["team"] or "—",
                      m["status"], last)  # fmt: skip
    out.print(table)


def _change_member(
    workspace: str,
    email: str,
    change: Callable[[Context, uuid.UUID], members.MemberRow],
    done: str,
    as_json: bool,
) -> None:
    """Apply ``change`` to the member with ``email`` and report it (``done`` is formatted
    with the member's JSON: its email, role and workspace)."""
    with transaction(unscoped=True) as session:
        ctx, ws = _system(session, workspace)
        made = _member_json(change(ctx, _user_id(session, email)), ws.slug)
    if as_json:
        emit_json(made)
    else:
        out.print("[green]✓[/green] " + done.format(**made))


@user_app.command("set-role")
def set_role(
    email: str,
    role: Role,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Give a member another role (the last owner stays an owner)."""
    _change_member(
        workspace,
        email,
        lambda ctx, user_id: members.change_role(ctx, user_id, role.value),
        "{email} is now {role} of {workspace}",
        as_json,
    )


@user_app.command("deactivate")
def deactivate(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deactivate a member: their browser sessions and API tokens stop working at once."""
    _change_member(
        workspace, email, members.deactivate, "{email} is deactivated in {workspace}", as_json
    )


@user_app.command("reactivate")
def reactivate(
    email: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Let a deactivated member sign in again."""
    _change_member(
        workspace, email, members.reactivate, "{email} is active again in {workspace}", as_json
    )


@user_app.command("set-password")
def set_password(
    email: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin"
    ),
) -> None:
    """Set a user's password (prompted twice, or read from stdin); their sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction(unscoped=True) as session:
        user = members.set_password(session, email, password)
        done = user.email
    note(f"[green]✓[/green] password of {done} changed; their browser sessions ended")


def _token_json(token: ApiToken, email: str | None, slug: str) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "email": email,
        "workspace": slug,
        "scopes": token.scopes,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@token_app.command("list")
def list_tokens(
    workspace: str | None = typer.Option(
        None, "--workspace", "-w", help="Only this workspace (slug or id); all by default"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List API tokens (never their secrets): name, prefix, owner, scopes, dates."""
    with transaction(unscoped=True) as session:
        query = (
            select(ApiToken, User.email, Workspace.slug)
            .join(User, User.id == ApiToken.user_id)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .order_by(Workspace.slug, ApiToken.created_at)
            .execution_options(all_workspaces=True)
        )
        if workspace:
            query = query.where(
                ApiToken.workspace_id == service.get_workspace(session, workspace).id
            )
        found = [_token_json(t, e, s) for t, e, s in session.execute(query)]
    if as_json:
        emit_json(found)
        return
    table = Table("id", "name", "prefix", "email", "workspace", "scopes", "state")
    for t in found:
        state = "revoked" if t["revoked_at"] else "active"
        table.add_row(str(t["id"]), t["name"], t["prefix"], t["email"], t["workspace"],
                      ",".join(t["scopes"]), state)  # fmt: skip
    out.print(table)


@token_app.command("revoke")
def revoke_token(id_or_prefix: str, as_json: bool = JSON_OPTION) -> None:
    """Revoke a token by its id or its prefix (``rpt_abc123``); it stops working at once."""
    with transaction(unscoped=True) as session:
        query = select(ApiToken).execution_options(all_workspaces=True)
        try:
            query = query.where(ApiToken.id == uuid.UUID(id_or_prefix))
        except ValueError:
            query = query.where(ApiToken.prefix == id_or_prefix.removesuffix("…"))
        matches = list(session.scalars(query.limit(2)))
        if not matches:
            raise NotFound(f"No token {id_or_prefix!r}")
        if len(matches) > 1:
            raise Conflict(f"Several tokens start with {id_or_prefix!r}; give the token's id")
        token = matches[0]
        session.info["workspace_id"] = token.workspace_id
        service.revoke_token(system_context(session, token.workspace_id), token.id)
        made = {"id": token.id, "name": token.name, "revoked_at": token.revoked_at}
    if as_json:
        emit_json(made)
    else:
        out.print(f"[green]✓[/green] token {made['name']} ({made['id']}) is revoked")


def register(app: typer.Typer) -> None:
    """Add the accounts commands to the root ``rapport`` app (``Domain.cli``)."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
